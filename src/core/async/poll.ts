// Collecting: after the 202, a record's OutputLocation and FailureLocation are polled (HEAD) until one
// exists or its deadline passes. An endpoint's queue answers roughly in submission order, so the
// oldest pending records are polled first: a window of them (wide enough for twice the answers
// found per shortest interval, at least 16) polls, the rest wait their turn; a record leaves the
// window after 4 polls without an answer (a slow or stuck job must not hold the others back) and
// goes on polling by itself. Each record's polls back off from the shortest interval up to the
// longest, doubling, jittered (x0.8-1.2); the failure object is looked for on every fourth poll and
// on the last one (a job fails far less often than it succeeds). A bounded number of HEADs are in
// flight. docs/async.md §3.
import type { RecordError } from '../../errors.js';
import { S3Failure, type ObjectBody, type ObjectHead, type ObjectStore } from '../../aws/s3.js';
import { ABORTED, type Aborted } from '../invoke.js';
import { DynamicSemaphore } from '../limiter.js';
import type { SubmittedEntry } from './journal.js';

export interface PollSettings {
  /** The shortest interval (the first poll's least wait), ms. */
  minMs: number;
  /** The longest interval, ms. */
  maxMs: number;
}

export const DEFAULT_POLL: PollSettings = { minMs: 1_000, maxMs: 30_000 };

/** What a poll found; `object`: the output, already read (the record's turn had come). */
export type Found = { kind: 'output' | 'failure'; uri: string; head: ObjectHead; object?: ObjectBody } | { kind: 'timeout' };

export interface PollDeps {
  store: ObjectStore;
  settings: PollSettings;
  now: () => number;
  random: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  cancel: AbortSignal;
  /** HEADs in flight at most. */
  slots: number;
  /** Whether this record's answer may be read now (its turn, unit.ts): then the poll is a GET. */
  mayRead: (seq: number) => boolean;
}

/** Polls in the window before a record leaves it. */
const WINDOW_POLLS = 4;
const MIN_WINDOW = 16;

/**
 * Returns the poller (`seq`: the record's place in submission order): resolves with what was found,
 * ABORTED on cancel; throws S3Failure when S3 cannot be used at all.
 */
export function pollFor(deps: PollDeps): (entry: SubmittedEntry, seq: number) => Promise<Found | Aborted> {
  const { store, settings, cancel } = deps;
  const slots = new DynamicSemaphore(() => deps.slots);
  /** Moving average of the time between two answers found, ms (0 until two). */
  let gapMs = 0;
  let lastFound = 0;
  const windowSize = (): number => (gapMs === 0 ? MIN_WINDOW : Math.max(MIN_WINDOW, Math.ceil((2 * settings.minMs) / gapMs)));
  const window = new OldestFirst(windowSize);
  const jitter = (ms: number): number => Math.round(ms * (0.8 + 0.4 * deps.random()));
  const found = (): void => {
    const now = deps.now();
    if (lastFound !== 0) gapMs = gapMs === 0 ? now - lastFound : 0.9 * gapMs + 0.1 * Math.max(0.1, now - lastFound);
    lastFound = now;
  };

  const head = async (uri: string): Promise<ObjectHead | undefined | 'retry'> => {
    const release = await slots.acquire(cancel);
    try {
      return await store.head(uri, cancel);
    } catch (err) {
      // S3's own 5xx and throttling (after the SDK's retries): poll again later.
      if (err instanceof S3Failure && !err.unreachable && err.status !== undefined && (err.status >= 500 || err.code === 'SlowDown')) return 'retry';
      throw err;
    } finally {
      release();
    }
  };

  /** A GET that reads the output if it is there: one request instead of a HEAD and a GET. */
  const read = async (uri: string): Promise<ObjectBody | undefined | 'head'> => {
    const release = await slots.acquire(cancel);
    try {
      return await store.read(uri, cancel);
    } catch (err) {
      // Too large for a result line, or S3 unwell: the HEAD path says which.
      if (err instanceof S3Failure && (err.code === 'ResponseTooLarge' || (err.status !== undefined && err.status >= 500))) return 'head';
      throw err;
    } finally {
      release();
    }
  };

  /** One poll: the output, and (every fourth poll, and the last) the failure object. */
  const once = async (entry: SubmittedEntry, n: number, final: boolean, seq: number): Promise<Found | undefined> => {
    let out: ObjectHead | undefined | 'retry' | 'head' = 'head';
    if (deps.mayRead(seq)) {
      const obj = await read(entry.output);
      if (obj !== undefined && obj !== 'head') return { kind: 'output', uri: entry.output, head: obj, object: obj };
      out = obj;
    }
    if (out === 'head') out = await head(entry.output);
    if (out !== undefined && out !== 'retry') return { kind: 'output', uri: entry.output, head: out };
    if (entry.failure !== undefined && (n % 4 === 3 || final)) {
      const f = await head(entry.failure);
      if (f !== undefined && f !== 'retry') return { kind: 'failure', uri: entry.failure, head: f };
    }
    return final ? { kind: 'timeout' } : undefined;
  };

  return async (entry, seq) => {
    if (!(await window.enter(seq, cancel))) return ABORTED;
    // The records ahead in the window answer first, one every gapMs or so: no sooner is this one due.
    const dueIn = gapMs * (window.inside - 1);
    let inWindow = true;
    try {
      for (let n = 0; ; n++) {
        const now = deps.now();
        if (now < entry.deadline) {
          const wanted = n === 0 ? Math.max(settings.minMs - (now - entry.at), dueIn) : Math.min(settings.maxMs, settings.minMs * 2 ** (n - 1));
          if (wanted > 0) await deps.sleep(Math.min(jitter(wanted), entry.deadline - now), cancel);
        }
        if (cancel.aborted) return ABORTED;
        const f = await once(entry, n, deps.now() >= entry.deadline, seq);
        if (f !== undefined) {
          if (f.kind !== 'timeout') found();
          return f;
        }
        if (inWindow && n + 1 >= WINDOW_POLLS) {
          inWindow = false;
          window.leave();
        }
      }
    } catch (err) {
      if (cancel.aborted) return ABORTED;
      throw err;
    } finally {
      if (inWindow) window.leave();
    }
  };
}

/** At most `size()` records inside at once, the oldest (lowest place) first. */
class OldestFirst {
  #inside = 0;
  get inside(): number {
    return this.#inside;
  }
  /** Waiting places, ascending, with their wake-ups. */
  readonly #queue: { seq: number; go: () => void }[] = [];
  constructor(readonly size: () => number) {}

  enter(seq: number, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (this.#inside < this.size() && (this.#queue.length === 0 || this.#queue[0]!.seq > seq)) {
      this.#inside++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const item = {
        seq,
        go: () => {
          signal.removeEventListener('abort', onAbort);
          resolve(true);
        },
      };
      const onAbort = (): void => {
        const i = this.#queue.indexOf(item);
        if (i !== -1) this.#queue.splice(i, 1);
        resolve(false);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      // Places mostly arrive in order: search from the end.
      let i = this.#queue.length;
      while (i > 0 && this.#queue[i - 1]!.seq > seq) i--;
      this.#queue.splice(i, 0, item);
    });
  }

  leave(): void {
    this.#inside--;
    while (this.#inside < this.size() && this.#queue.length > 0) {
      this.#inside++;
      this.#queue.shift()!.go();
    }
  }
}

/**
 * A failure object's content as the record's error: SageMaker writes the model's error text; a JSON
 * object with an error code and message (ErrorCode/Message, code/message, error) gives those.
 */
export function failureError(body: Buffer): RecordError {
  const text = body.toString('utf8').trim();
  const shown = text.length > 4096 ? `${text.slice(0, 4096)}…` : text;
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const code = v.ErrorCode ?? v.errorCode ?? v.code;
      const message = v.Message ?? v.message ?? v.error;
      if (typeof message === 'string') return { code: typeof code === 'string' && code !== '' ? code : 'AsyncInferenceFailure', message };
    }
  } catch {
    // not JSON: the text is the message
  }
  return { code: 'AsyncInferenceFailure', message: shown === '' ? 'the failure object is empty' : shown };
}
