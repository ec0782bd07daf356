// Batched, backpressured writes of output text to a stream.
// Lines that complete in the same turn of the event loop go out in one write() (one syscall on a
// pipe), and the pipeline waits only when the destination is full.
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';

const FLUSH_AT = 64 * 1024;

export class BatchWriter {
  #buf = '';
  #scheduled = false;
  #blocked: Promise<void> | undefined;
  #closed = false;
  /** The first error the destination reported. */
  error: NodeJS.ErrnoException | undefined;

  constructor(private readonly stream: Writable) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      this.error ??= err;
    });
  }

  /** Queues text; returns a promise only when the caller should wait for the destination. */
  write(text: string): Promise<void> | undefined {
    if (this.#closed) return undefined;
    this.#buf += text;
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

  flush(): void {
    if (this.#buf === '' || this.#closed) return;
    const ok = this.stream.write(this.#buf);
    this.#buf = '';
    if (!ok && !this.#blocked) {
      this.#blocked = once(this.stream, 'drain').then(
        () => { this.#blocked = undefined; },
        () => { this.#blocked = undefined; },
      );
    }
  }

  /** The reader went away (EPIPE): drop everything from now on. */
  discard(): void {
    this.#closed = true;
    this.#buf = '';
  }

  /** Flushes and, for files, waits until the data is handed to the OS. */
  async end(closeStream: boolean): Promise<void> {
    this.flush();
    this.#closed = true;
    // A stream that already failed emits nothing more: waiting for it would wait forever.
    if (this.stream.destroyed || this.stream.errored) return;
    if (closeStream) {
      this.stream.end();
      await finished(this.stream, { readable: false }).catch(() => undefined);
    } else if (this.stream.writableNeedDrain) {
      await Promise.race([once(this.stream, 'drain'), once(this.stream, 'error'), once(this.stream, 'close')]).catch(() => undefined);
    }
  }
}
