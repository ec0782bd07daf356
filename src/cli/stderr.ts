// stderr: one-line messages, and the live status line (--progress) that they clear first. Every
// message goes through escape.ts: text from the service or the input cannot drive the terminal.
import type { StatsSnapshot } from '../core/stats.js';
import { formatProgress } from '../core/stats.js';
import { escapeBlock, escapeLine } from './escape.js';
import type { Io } from './io.js';

/** The width assumed when the terminal does not say. */
export const DEFAULT_COLUMNS = 80;

export class Stderr {
  #shown = false;
  #timer: NodeJS.Timeout | undefined;
  readonly tty: boolean;

  constructor(
    private readonly io: Io,
    /** --quiet: note() says nothing. */
    readonly quiet = false,
  ) {
    this.tty = io.stderr.isTTY === true;
  }

  /** A hint or notice, not an error: like say(), and nothing with --quiet. */
  note(line: string): void {
    if (!this.quiet) this.say(line);
  }

  /** `sm-invoke: line`, on a line of its own. */
  say(line: string): void {
    this.clear();
    this.io.stderr.write(`sm-invoke: ${escapeLine(line)}\n`);
  }

  /** Text as it is (--debug's blocks, the AWS CLI's messages), after clearing the status line. */
  write(text: string): void {
    this.clear();
    this.io.stderr.write(escapeBlock(text));
  }

  /** The terminal's width (80 when it does not say). */
  get columns(): number {
    const c = this.io.stderr.columns;
    return c !== undefined && c > 0 ? c : DEFAULT_COLUMNS;
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
        // On a terminal the line fits its width, so \r redraws it in place instead of leaving rows.
        const line = formatProgress({ snapshot: snapshot(), ...bytes() }, this.tty ? this.columns - 1 : undefined);
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
