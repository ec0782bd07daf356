// Byte stream in, raw lines out — exact bytes, bounded memory, linear time.
//
// split2 splits text; we need exact bytes (a body-mode line is sent byte for byte, invalid UTF-8
// included). So the bytes are decoded as latin1, which maps each byte to one char U+0000..U+00FF
// and back losslessly, and split2 is told not to re-encode strings (decodeStrings: false; its
// StringDecoder passes strings through). `Buffer.from(line, 'latin1')` recovers the line's bytes.
//
// The LineGuard in front of split2 does two things split2 cannot:
// - A line longer than maxLineBytes must not grow memory, and must not vanish either (split2's own
//   maxLength either kills the stream or skips the line silently). The guard keeps its first
//   maxLineBytes bytes, skips the rest up to the newline and marks the line with OVERFLOW_MARK, a
//   char no latin1 decoding can produce; ndjson.ts turns a marked line into an error result.
// - split2 appends each write to the unfinished line and re-splits the whole string, which is
//   quadratic for a line spread over many chunks. The guard holds an
//   unfinished line as Buffer pieces and hands split2 only text that ends in a newline, so split2
//   never carries a partial line between writes: one decode and one split per byte.
import { Readable, Transform, type TransformCallback } from 'node:stream';
import split2 from 'split2';

export const OVERFLOW_MARK = '\u0100';
const NL = 10;
const NEWLINE = Buffer.from('\n');

export class LineGuard extends Transform {
  /** Pieces of the unfinished line from earlier chunks, at most maxLineBytes in all. */
  #parts: Buffer[] = [];
  #partBytes = 0;
  /** The unfinished line passed maxLineBytes: its bytes are skipped up to the newline. */
  #overflowing = false;

  constructor(private readonly maxLineBytes: number) {
    // Each object is a run of whole lines (a chunk's worth, or one long line): one waiting is enough.
    super({ readableObjectMode: true, readableHighWaterMark: 1 });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const lastNl = chunk.lastIndexOf(NL);
    if (lastNl === -1) {
      this.#keep(chunk, 0, chunk.length);
      done();
      return;
    }
    let start = 0;
    if (this.#partBytes > 0 || this.#overflowing) {
      // The first newline ends the line carried over from earlier chunks. It goes out on its own,
      // as one flat string: joined to the other lines it would be copied once more by split2's split.
      const firstNl = chunk.indexOf(NL);
      this.#keep(chunk, 0, firstNl);
      this.push(this.#takeCarried(true));
      start = firstNl + 1;
    }
    if (start <= lastNl) this.push(this.#completeLines(chunk, start, lastNl + 1));
    this.#keep(chunk, lastNl + 1, chunk.length);
    done();
  }

  override _flush(done: TransformCallback): void {
    // A final line without a newline: split2 emits it when it ends. Only the CR of a CRLF is a line
    // ending: a final line's own CR gets a second one, which the mapper's stripCr then removes.
    if (this.#partBytes > 0 || this.#overflowing) {
      const last = this.#takeCarried();
      this.push(last.charCodeAt(last.length - 1) === 13 ? last + '\r' : last);
    }
    done();
  }

  /** chunk[start, end) holds whole lines, each ending in "\n": their text, over-long ones cut and marked. */
  #completeLines(chunk: Buffer, start: number, end: number): string {
    if (end - start - 1 <= this.maxLineBytes) return chunk.toString('latin1', start, end); // no line can be too long
    let out = '';
    let from = start; // start of the run of lines copied as is
    for (let at = start; at < end; ) {
      const nl = chunk.indexOf(NL, at);
      if (nl - at > this.maxLineBytes) {
        out += chunk.toString('latin1', from, at) + chunk.toString('latin1', at, at + this.maxLineBytes) + OVERFLOW_MARK + '\n';
        from = nl + 1;
      }
      at = nl + 1;
    }
    return out + chunk.toString('latin1', from, end);
  }

  /** Holds chunk[start, end) (no newline in it) as part of the unfinished line, within the limit. */
  #keep(chunk: Buffer, start: number, end: number): void {
    if (this.#overflowing || start === end) return;
    const room = this.maxLineBytes - this.#partBytes;
    if (end - start > room) {
      if (room > 0) this.#parts.push(Buffer.from(chunk.subarray(start, start + room)));
      this.#partBytes = this.maxLineBytes;
      this.#overflowing = true;
      return;
    }
    // A copy when the chunk also holds other lines (they would otherwise be held until this line
    // ends); a chunk that is all this line's is kept as it is.
    this.#parts.push(start === 0 && end === chunk.length ? chunk : Buffer.from(chunk.subarray(start, end)));
    this.#partBytes += end - start;
  }

  #takeCarried(newline = false): string {
    if (newline && !this.#overflowing) this.#parts.push(NEWLINE);
    const bytes = Buffer.concat(this.#parts);
    const text = this.#overflowing ? bytes.toString('latin1') + OVERFLOW_MARK + (newline ? '\n' : '') : bytes.toString('latin1');
    this.#parts = [];
    this.#partBytes = 0;
    this.#overflowing = false;
    return text;
  }
}

function stripCr(line: string): string {
  return line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
}

/**
 * Lines of `input` as latin1 strings (one char per byte), without their `\n` or `\r\n` (one CR only:
 * `abc\r\r\n` is `abc\r`; a final line without `\n` keeps its CR).
 * A final line without a newline is included. Memory per line is bounded by maxLineBytes.
 * Stopping early does not destroy `input` (stdin is not ours to close); an input error ends the
 * lines with that error.
 */
export function readLines(input: Readable | AsyncIterable<Buffer | string>, maxLineBytes: number): AsyncIterable<string> {
  const source = input instanceof Readable ? input : Readable.from(input, { objectMode: false });
  const guard = new LineGuard(maxLineBytes);
  // A plain "\n" matcher: String#split on a string is several times faster than on /\r?\n/ for long
  // lines; the mapper drops the "\r" of a CRLF.
  // Read-ahead is counted in lines: with the default 16, 5 MiB lines kept 80 MiB waiting here. One
  // chunk's lines are pushed together whatever the mark, so small lines do not notice a low one.
  const lines = split2('\n' as unknown as RegExp, stripCr, { decodeStrings: false, readableHighWaterMark: 2 } as unknown as split2.Options);
  source.on('error', (err) => lines.destroy(err));
  guard.on('error', (err) => lines.destroy(err));
  lines.on('close', () => source.unpipe(guard));
  source.pipe(guard).pipe(lines);
  return lines as AsyncIterable<string>;
}
