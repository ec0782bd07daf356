// Batched, backpressured writes of output text to a stream.
// Lines that complete in the same turn of the event loop go out in one write() (one syscall on a
// pipe), and the pipeline waits only when the destination is full.
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';

const FLUSH_AT = 64 * 1024;

export class BatchWriter {
  #buf = '';
  /** Lines (one per write()) in #buf. */
  #bufLines = 0;
  /** Lines and bytes the destination took (their write's callback reported no error). */
  linesWritten = 0;
  bytesWritten = 0;
  #scheduled = false;
  #blocked: Promise<void> | undefined;
  #closed = false;
  /** The first error the destination reported. */
  error: NodeJS.ErrnoException | undefined;

  /** `beforeWrite` runs before each write to the stream (when it fails, it calls discard(): nothing is written then). */
  constructor(
    private readonly stream: Writable,
    private readonly beforeWrite?: () => void,
  ) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      this.error ??= err;
    });
  }

  /** Queues text; returns a promise only when the caller should wait for the destination. */
  write(text: string): Promise<void> | undefined {
    if (this.#closed) return undefined;
    this.#buf += text;
    this.#bufLines++;
    if (this.#buf.length >= FLUSH_AT) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flushLater);
    }
    return this.#blocked;
  }

  #flushLater = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  /**
   * Queues a line given in pieces: a large answer's own bytes between text. What is queued goes
   * first, then the pieces, in one corked batch (one writev).
   */
  writeParts(parts: readonly (string | Buffer)[]): Promise<void> | undefined {
    if (this.#closed) return undefined;
    this.flush();
    this.beforeWrite?.();
    if (this.#closed) return undefined;
    this.stream.cork();
    let ok = true;
    const bytes = parts.reduce((n, p) => n + (typeof p === 'string' ? Buffer.byteLength(p) : p.length), 0);
    parts.forEach((p, i) => {
      ok = i < parts.length - 1 ? this.stream.write(p) : this.stream.write(p, (err) => this.#took(err, 1, bytes));
    });
    process.nextTick(() => this.stream.uncork());
    this.#wait(ok);
    return this.#blocked;
  }

  flush(): void {
    if (this.#buf === '' || this.#closed) return;
    this.beforeWrite?.();
    if (this.#closed) return; // it failed and stopped the writer
    const lines = this.#bufLines;
    const bytes = Buffer.byteLength(this.#buf);
    const ok = this.stream.write(this.#buf, (err) => this.#took(err, lines, bytes));
    this.#buf = '';
    this.#bufLines = 0;
    this.#wait(ok);
  }

  #took(err: Error | null | undefined, lines: number, bytes: number): void {
    if (err) return;
    this.linesWritten += lines;
    this.bytesWritten += bytes;
  }

  #wait(ok: boolean): void {
    if (!ok && !this.#blocked) {
      this.#blocked = once(this.stream, 'drain').then(
        () => {
          this.#blocked = undefined;
        },
        () => {
          this.#blocked = undefined;
        },
      );
    }
  }

  /** The reader went away (EPIPE): drop everything from now on. */
  discard(): void {
    this.#closed = true;
    this.#buf = '';
    this.#bufLines = 0;
  }

  /** Flushes and, for files, waits until the data is handed to the OS. */
  async end(closeStream: boolean): Promise<void> {
    this.flush();
    this.#closed = true;
    // A stream that already failed emits nothing more: waiting for it would wait forever. (Its
    // 'error' event may not have been emitted yet: it comes on a later tick than the failed write.)
    if (this.stream.errored) this.error ??= this.stream.errored as NodeJS.ErrnoException;
    if (this.stream.destroyed || this.stream.errored) return;
    if (closeStream) {
      this.stream.end();
      await finished(this.stream, { readable: false }).catch(() => undefined);
      return;
    }
    // stdout stays open: an empty write's callback runs once everything before it was handed to the
    // OS or failed; the error itself is emitted a tick later (a full /dev/full must not pass for 0).
    const stream = this.stream;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        stream.off('error', done);
        stream.off('close', done);
        resolve();
      };
      stream.once('error', done);
      stream.once('close', done);
      stream.write('', () => done());
    });
    await new Promise((resolve) => setImmediate(resolve));
    if (stream.errored) this.error ??= stream.errored as NodeJS.ErrnoException;
  }
}
