// Collecting: after the 202, a record's OutputLocation and FailureLocation are polled (HEAD) until one
// exists or its deadline passes. The first poll comes when answers have been taking to come (a moving
// average, at least the shortest interval); later ones back off from the shortest interval up to the
// longest, doubling, jittered (x0.8-1.2); the failure object is looked for on every second poll and on
// the last one (a job fails far less often than it succeeds: half the HEADs while waiting). A bounded
// number of polls are in flight. docs/async.md §3.
import type { RecordError } from '../../errors.js';
import { S3Failure, type ObjectHead, type ObjectStore } from '../../aws/s3.js';
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

export type Found = { kind: 'output' | 'failure'; uri: string; head: ObjectHead } | { kind: 'timeout' };

export interface PollDeps {
  store: ObjectStore;
  settings: PollSettings;
  now: () => number;
  random: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  cancel: AbortSignal;
  /** HEADs in flight at most. */
  slots: number;
}

/** Returns the poller: resolves with what was found, ABORTED on cancel; throws S3Failure when S3 cannot be used at all. */
export function pollFor(deps: PollDeps): (entry: SubmittedEntry) => Promise<Found | Aborted> {
  const { store, settings, cancel } = deps;
  const slots = new DynamicSemaphore(() => deps.slots);
  /** Moving average of the time from submission to an answer found, ms (0 until the first). */
  let typicalMs = 0;
  const jitter = (ms: number): number => Math.round(ms * (0.8 + 0.4 * deps.random()));

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

  return async (entry) => {
    for (let n = 0; ; n++) {
      const now = deps.now();
      const last = now >= entry.deadline;
      if (!last) {
        const wanted = n === 0 ? Math.max(settings.minMs, typicalMs - (now - entry.at)) : Math.min(settings.maxMs, settings.minMs * 2 ** (n - 1));
        try {
          await deps.sleep(Math.min(jitter(wanted), Math.max(0, entry.deadline - now)), cancel);
        } catch {
          return ABORTED;
        }
      }
      if (cancel.aborted) return ABORTED;
      let out: ObjectHead | undefined | 'retry';
      try {
        out = await head(entry.output);
        if (out !== undefined && out !== 'retry') {
          const took = deps.now() - entry.at;
          typicalMs = typicalMs === 0 ? took : 0.8 * typicalMs + 0.2 * took;
          return { kind: 'output', uri: entry.output, head: out };
        }
        const final = last || deps.now() >= entry.deadline;
        if (entry.failure !== undefined && (n % 2 === 1 || final)) {
          const f = await head(entry.failure);
          if (f !== undefined && f !== 'retry') return { kind: 'failure', uri: entry.failure, head: f };
        }
        if (final) return { kind: 'timeout' };
      } catch (err) {
        if (cancel.aborted) return ABORTED;
        throw err;
      }
    }
  };
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
