// What a run reads and writes of its process: the streams, the environment, the clock, signals and
// exit. main.ts passes the real process; tests can pass their own to run end to end in-process.
import type { Readable, Writable } from 'node:stream';

export interface Io {
  /** Records come from here. */
  stdin: Readable & { isTTY?: boolean };
  /** 0 when `stdin` is the process's own (its file is then checked: not a directory, not the outfile). */
  stdinFd?: number;
  stdout: Writable & { isTTY?: boolean };
  /** `columns`: the terminal's width, when stderr is one (Node keeps it current on a resize). */
  stderr: Writable & { isTTY?: boolean; columns?: number };
  env: Readonly<Record<string, string | undefined>>;
  now: () => number;
  /** SIGINT/SIGTERM: subscribe and unsubscribe. */
  onSignal(handler: (signal: 'SIGINT' | 'SIGTERM') => void): () => void;
  /** Leaves at once (a second signal); a run otherwise returns its exit code. */
  exit(code: number): never;
  /** Runs `fn` when the process exits (lock files are removed even on an early exit). */
  atExit(fn: () => void): void;
}

export function processIo(): Io {
  return {
    stdin: process.stdin,
    stdinFd: 0,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    now: Date.now,
    onSignal(handler) {
      process.on('SIGINT', handler);
      process.on('SIGTERM', handler);
      return () => {
        process.off('SIGINT', handler);
        process.off('SIGTERM', handler);
      };
    },
    exit: (code) => process.exit(code),
    atExit: (fn) => process.once('exit', fn),
  };
}
