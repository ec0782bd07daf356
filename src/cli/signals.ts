// Stopping a run from outside: SIGINT/SIGTERM stop reading and give the records in flight a grace
// period; a second signal leaves at once; a reader that went away (or a failed write) stops at once.
import { EXIT_SIGINT, EXIT_SIGTERM } from './exit-codes.js';
import type { Io } from './io.js';

/** How long records in flight may take to finish after a signal. */
export const GRACE_MS = 5_000;

export class Stops {
  readonly #controller = new AbortController();
  readonly #unsubscribe: () => void;
  /** 130 or 143 once a signal came. */
  exitCode: number | undefined;
  /** When the first signal came (the grace period runs from here). */
  at = 0;

  /** `leaveNow` runs on a second signal, before the process exits with the first one's code. */
  constructor(io: Io, leaveNow: () => void) {
    this.#unsubscribe = io.onSignal((signal) => {
      if (this.exitCode !== undefined) {
        leaveNow();
        io.exit(this.exitCode);
      }
      this.exitCode = signal === 'SIGINT' ? EXIT_SIGINT : EXIT_SIGTERM;
      this.at = io.now();
      this.#controller.abort();
    });
  }

  /** Aborted on a stop; reason 'now' when work in flight must be cancelled at once. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Stops at once, without a grace period (the reader went away, a write failed). */
  now(): void {
    this.#controller.abort('now');
  }

  /** The end of a signal's grace period, if a signal came. */
  get deadline(): number | undefined {
    return this.exitCode === undefined ? undefined : this.at + GRACE_MS;
  }

  dispose(): void {
    this.#unsubscribe();
  }
}
