// stderr: one-line messages, and the live status line (--progress) that they clear first.
import type { StatsSnapshot } from '../core/stats.js';
import { formatProgress } from '../core/stats.js';
import type { Io } from './io.js';

export class Stderr {
  #shown = false;
  #timer: NodeJS.Timeout | undefined;
  readonly tty: boolean;

  constructor(private readonly io: Io) {
    this.tty = io.stderr.isTTY === true;
  }

  /** `sm-invoke: line`, on a line of its own. */
  say(line: string): void {
    this.clear();
    this.io.stderr.write(`sm-invoke: ${line}\n`);
  }

  /** Text as it is (--debug's blocks, the AWS CLI's messages), after clearing the status line. */
  write(text: string): void {
    this.clear();
    this.io.stderr.write(text);
  }

  clear(): void {
    if (this.#shown && this.tty) this.io.stderr.write('\r\x1b[K');
    this.#shown = false;
  }

  /**
   * Redraws the status line 10 times a second on a terminal (once a second as a plain line off it).
   * `beforeDraw` runs first: results going to the same terminal are flushed, so that the two never
   * share a line.
   */
  startProgress(snapshot: () => StatsSnapshot, bytes: () => { bytesRead: number; totalBytes?: number }, beforeDraw?: () => void): void {
    this.#timer = setInterval(
      () => {
        const line = formatProgress({ snapshot: snapshot(), ...bytes() });
        if (this.tty) {
          beforeDraw?.();
          this.io.stderr.write(`\r\x1b[K${line}`);
          this.#shown = true;
        } else this.io.stderr.write(`sm-invoke: ${line}\n`);
      },
      this.tty ? 100 : 1000,
    );
    this.#timer.unref();
  }

  stopProgress(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.clear();
  }
}
