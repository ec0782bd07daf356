// Byte stream in, raw lines out — exact bytes, bounded memory.
//
// split2 splits text; we need exact bytes (a body-mode line is sent byte for byte, invalid UTF-8
// included). So the bytes are decoded as latin1, which maps each byte to one char U+0000..U+00FF
// and back losslessly, and split2 is told not to re-encode strings (decodeStrings: false; its
// StringDecoder passes strings through). `Buffer.from(line, 'latin1')` recovers the line's bytes.
//
// A line longer than maxLineBytes must not grow memory, and must not vanish either (split2's own
// maxLength either kills the stream or skips the line silently). The guard below stops forwarding
// an over-long line's bytes once it passes the limit, swallows the rest up to the newline and marks
// the line with OVERFLOW_MARK, a char no latin1 decoding can produce. ndjson.ts turns a marked
// line into an error result for that line; every other line is untouched.
import { Transform, type TransformCallback, type Readable } from 'node:stream';
import split2 from 'split2';

export const OVERFLOW_MARK = '\u0100';
const NL = 10;

export class LineGuard extends Transform {
  #lineBytes = 0;
  #overflowing = false;

  constructor(private readonly maxLineBytes: number) {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    // Fast path: no line in this chunk crosses the limit, so the chunk passes whole.
    if (!this.#overflowing) {
      const firstNl = chunk.indexOf(NL);
      const lastNl = firstNl === -1 ? -1 : chunk.lastIndexOf(NL);
      const head = firstNl === -1 ? chunk.length : firstNl;
      const tail = lastNl === -1 ? 0 : chunk.length - lastNl - 1;
      if (this.#lineBytes + head <= this.maxLineBytes && (lastNl === -1 || tail <= this.maxLineBytes)
        && (firstNl === lastNl || this.#innerLinesFit(chunk, firstNl, lastNl))) {
        this.#lineBytes = lastNl === -1 ? this.#lineBytes + head : tail;
        this.push(chunk.toString('latin1'));
        done();
        return;
      }
    }
    let start = 0;
    let out = '';
    while (start < chunk.length) {
      const nl = chunk.indexOf(NL, start);
      const end = nl === -1 ? chunk.length : nl;
      const len = end - start;
      if (this.#overflowing) {
        // Skipping the tail of an over-long line.
      } else if (this.#lineBytes + len > this.maxLineBytes) {
        const room = this.maxLineBytes - this.#lineBytes;
        out += chunk.toString('latin1', start, start + room) + OVERFLOW_MARK;
        this.#overflowing = true;
      } else {
        out += chunk.toString('latin1', start, end);
        this.#lineBytes += len;
      }
      if (nl === -1) break;
      out += '\n';
      this.#lineBytes = 0;
      this.#overflowing = false;
      start = nl + 1;
    }
    if (out.length > 0) this.push(out);
    done();
  }

  /** True when every line strictly between the first and last newline is within the limit. */
  #innerLinesFit(chunk: Buffer, firstNl: number, lastNl: number): boolean {
    if (lastNl - firstNl - 1 <= this.maxLineBytes) return true;
    let at = firstNl;
    while (at < lastNl) {
      const next = chunk.indexOf(NL, at + 1);
      if (next - at - 1 > this.maxLineBytes) return false;
      at = next;
    }
    return true;
  }
}

/**
 * Lines of `input` as latin1 strings (one char per byte), without their `\n` or `\r\n`.
 * A final line without a newline is included. Memory per line is bounded by maxLineBytes.
 */
export function readLines(input: Readable, maxLineBytes: number): Readable {
  const guard = new LineGuard(maxLineBytes);
  const lines = split2(/\r?\n/, { decodeStrings: false } as unknown as split2.Options);
  input.on('error', (err) => lines.destroy(err));
  guard.on('error', (err) => lines.destroy(err));
  return input.pipe(guard).pipe(lines);
}
