// The async invocation unit (--async): a record in, its result out, behind the same shape as
// InvokeEndpoint's (invoke.ts): submit (upload the input or send it inline, journal, POST
// async-invocations through the shared invoker's signing, retries and admission), then collect
// (poll.ts: the output or failure object), then read the answer when the record is nearly next in
// line, so that pending records cost their locations, not their bodies. docs/async.md.
import { FatalError, type RecordError } from '../../errors.js';
import type { ObjectStore } from '../../aws/s3.js';
import { S3Failure } from '../../aws/s3.js';
import { H_INFERENCE_ID } from '../../constants.js';
import type { HttpResponse } from '../../wire.js';
import { MAX_RESPONSE_BYTES } from '../../http/transport.js';
import { ABORTED, failed, type Aborted } from '../invoke.js';
import { DynamicSemaphore } from '../limiter.js';
import type { GoodRecord } from '../records.js';
import type { Result } from '../result-format.js';
import { newAsyncCounts, type AsyncCounts, type Summary } from '../summary.js';
import { checkAsyncRecord, type InputPlan } from './check.js';
import { H_FAILURE_LOCATION, H_OUTPUT_LOCATION } from './fields.js';
import type { Journal, SubmittedEntry } from './journal.js';
import { failureError, pollFor, type Found, type PollSettings } from './poll.js';
import { deadlineOf } from './check.js';

export interface AsyncOptions {
  inputMode: 'inline' | 's3' | 'auto';
  /** --async-input: `s3://bucket/prefix/`, where inputs are uploaded. */
  inputPrefix: string | undefined;
  /** Records submitted and not yet collected, at most (--async-max-pending). */
  maxPending: number;
  poll: PollSettings;
  /** --async-timeout: give up collecting after this long; undefined: RequestTTLSeconds + InvocationTimeoutSeconds. */
  timeoutMs: number | undefined;
  /** --async-cleanup: delete the uploaded inputs, or those and the objects read. */
  cleanup: 'none' | 'inputs' | 'all';
  /** --resume-failed: a record an earlier run was submitting when it stopped is sent again (deliberately). */
  resendUnconfirmed: boolean;
}

export type Invoke = (rec: GoodRecord) => Promise<Result | Aborted>;

/** What the shared invoker needs to send InvokeEndpointAsync instead of InvokeEndpoint. */
export interface InvokerHooks {
  onAnswer: (rec: GoodRecord, res: HttpResponse) => void;
}

export interface AsyncDeps {
  opts: AsyncOptions;
  store: ObjectStore;
  journal: Journal;
  /** Submissions in flight at most (--concurrency). */
  concurrency: number;
  /** The shared invoker (invoke.ts) with the async request and these hooks. */
  makeInvoker: (hooks: InvokerHooks) => Invoke;
  summary: Summary;
  now: () => number;
  random: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  cancel: AbortSignal;
  /** Aborted when the run stops taking records: a record not yet submitted is not. */
  stopSubmitting: AbortSignal;
  warn: (line: string) => void;
  onFatal: (err: FatalError) => void;
}

export interface AsyncUnit {
  invoke(rec: GoodRecord): Promise<Result | Aborted>;
  /** The pipeline took this result for writing (the next records may read their answers). */
  taken(r: Result): void;
}

/** What a record still needs once submitted: who it is and where its answer will be. */
interface Submitted {
  line: number;
  inferenceId: string | undefined;
  meta: string | undefined;
  attempts: number;
  entry: SubmittedEntry;
}

const EMPTY = Buffer.alloc(0);

export function createAsyncUnit(deps: AsyncDeps): AsyncUnit {
  const { opts, store, journal, summary, cancel } = deps;
  const counts: AsyncCounts = (summary.async ??= newAsyncCounts());
  const answers = new WeakMap<GoodRecord, HttpResponse>();
  const invoke = deps.makeInvoker({ onAnswer: (rec, res) => answers.set(rec, res) });
  const submitSlots = new DynamicSemaphore(() => deps.concurrency);
  const turns = new Turns(Math.max(8, deps.concurrency));
  const produced = new WeakSet<Result>();
  const pendingOutputs = new Set<string>();
  const poll = pollFor({
    store,
    settings: opts.poll,
    now: deps.now,
    random: deps.random,
    sleep: deps.sleep,
    cancel,
    slots: Math.max(16, deps.concurrency),
    mayRead: (s) => turns.allowed(s),
  });
  let seq = 0;
  let cleanupWarned = false;

  const fatal = (err: FatalError): Aborted => {
    deps.onFatal(err);
    return ABORTED;
  };
  const journalled = (write: () => void): boolean => {
    try {
      write();
      return true;
    } catch (err) {
      fatal(
        new FatalError(
          `cannot write the async journal: ${(err as Error).message}`,
          'JournalWriteError',
          'nothing more is submitted: records are journalled before they are submitted, so that none is ever submitted twice',
        ),
      );
      return false;
    }
  };
  const s3Fatal = (err: unknown): Aborted => {
    if (err instanceof S3Failure) return fatal(new FatalError(`S3: ${err.message}`, err.code, s3Hint(err)));
    throw err;
  };

  /** Upload (if the plan says), journal, submit: the submission, or the record's result. */
  const submit = async (rec: GoodRecord, plan: InputPlan, uploadAgain: string | undefined): Promise<Submitted | Result | Aborted> => {
    let release: () => void;
    try {
      release = await submitSlots.acquire(deps.stopSubmitting);
    } catch {
      return ABORTED;
    }
    const stopped = (): boolean => cancel.aborted || deps.stopSubmitting.aborted;
    try {
      let input: string | undefined = uploadAgain;
      if (plan.kind === 'upload') {
        input ??= `${opts.inputPrefix}${journal.run}/${rec.line}`;
        if (stopped() || !journalled(() => journal.write({ line: rec.line, state: 'uploading', input: input! }))) return ABORTED;
        try {
          await store.put(input, rec.body, rec.fields.contentType, cancel);
        } catch (err) {
          return cancel.aborted ? ABORTED : s3Fatal(err);
        }
        counts.uploaded++;
      }
      if (stopped() || !journalled(() => journal.write({ line: rec.line, state: 'submitting', ...(input !== undefined ? { input } : {}) }))) return ABORTED;
      const location = input ?? rec.fields.inputLocation;
      const sent: GoodRecord = location === undefined ? rec : { ...rec, body: EMPTY, fields: { ...rec.fields, inputLocation: location } };
      const r = await invoke(sent);
      if (r === ABORTED || !r.ok) return r;
      return accepted(rec, r, answers.get(sent), input);
    } finally {
      release();
    }
  };

  /** The 202: its locations journalled before anything else happens. */
  const accepted = (rec: GoodRecord, r: Result, res: HttpResponse | undefined, input: string | undefined): Submitted | Result | Aborted => {
    // The invoker counted the 202 as a record answered; it is when its output is read.
    summary.ok--;
    const output = header(res, H_OUTPUT_LOCATION);
    if (output === undefined) {
      return failed(
        rec,
        { code: 'AsyncNoOutputLocation', message: 'the service accepted the request (202) without an X-Amzn-SageMaker-OutputLocation' },
        r.attempts ?? 1,
        r.latencyMs,
      );
    }
    const at = deps.now();
    const entry: SubmittedEntry = {
      line: rec.line,
      state: 'submitted',
      inferenceId: inferenceIdOf(res) ?? header(res, H_INFERENCE_ID),
      output,
      failure: header(res, H_FAILURE_LOCATION),
      ...(input !== undefined ? { input } : {}),
      at,
      deadline: at + (opts.timeoutMs ?? deadlineOf(rec.fields)),
    };
    if (!journalled(() => journal.write(entry))) return ABORTED;
    counts.submitted++;
    counts.pending++;
    return { line: rec.line, inferenceId: rec.fields.inferenceId, meta: rec.meta, attempts: r.attempts ?? 1, entry };
  };

  /** Polls for the answer, waits for the record's turn, reads it. */
  const collect = async (s: Submitted, mySeq: number): Promise<Result | Aborted> => {
    const { entry } = s;
    if (pendingOutputs.has(entry.output)) {
      counts.pending--;
      return done(
        s,
        fail(s, {
          code: 'AsyncOutputCollision',
          message: `another pending record writes the same output object (give each record its own inferenceId or filename)`,
          location: entry.output,
        }),
      );
    }
    pendingOutputs.add(entry.output);
    try {
      let found: Found | Aborted;
      try {
        found = await poll(entry, mySeq);
      } catch (err) {
        return s3Fatal(err);
      }
      if (found === ABORTED) return ABORTED;
      if (!(await turns.wait(mySeq, cancel))) return ABORTED;
      const r = await answer(s, found);
      if (r === ABORTED) return r;
      await cleanup(s, found);
      return done(s, r);
    } finally {
      pendingOutputs.delete(entry.output);
    }
  };

  const answer = async (s: Submitted, found: Found): Promise<Result | Aborted> => {
    const { entry } = s;
    counts.pending--;
    if (found.kind === 'timeout') {
      counts.timedOut++;
      const secs = Math.round((entry.deadline - entry.at) / 1000);
      return fail(s, {
        code: 'AsyncTimeout',
        message: `no output or failure object ${secs} s after the submission (${opts.timeoutMs !== undefined ? '--async-timeout' : 'RequestTTLSeconds + InvocationTimeoutSeconds'}); the job may still finish, its output would be at this location`,
        location: entry.output,
      });
    }
    if (found.kind === 'output' && found.head.size > MAX_RESPONSE_BYTES) {
      counts.failed++;
      return fail(s, {
        code: 'AsyncOutputTooLarge',
        message: `the output object is ${found.head.size} bytes; a result line carries at most ${MAX_RESPONSE_BYTES} (read it from S3)`,
        location: entry.output,
      });
    }
    let obj = found.object;
    try {
      obj ??= await store.get(found.uri, cancel);
    } catch (err) {
      if (cancel.aborted) return ABORTED;
      return s3Fatal(err);
    }
    if (found.kind === 'failure') {
      counts.failed++;
      return fail(s, { ...failureError(obj.body), location: found.uri });
    }
    counts.collected++;
    summary.ok++;
    const r: Result = {
      line: s.line,
      ok: true,
      inferenceId: s.inferenceId,
      status: 200,
      contentType: obj.contentType,
      body: obj.body,
      attempts: s.attempts,
      latencyMs: deps.now() - entry.at,
    };
    if (s.meta !== undefined) r.meta = s.meta;
    return r;
  };

  const cleanup = async (s: Submitted, found: Found): Promise<void> => {
    const doomed: string[] = [];
    if (opts.cleanup !== 'none' && s.entry.input !== undefined) doomed.push(s.entry.input);
    if (opts.cleanup === 'all' && found.kind !== 'timeout') doomed.push(found.uri);
    for (const uri of doomed) {
      try {
        await store.delete(uri, cancel);
      } catch (err) {
        if (!cleanupWarned && !cancel.aborted) deps.warn(`--async-cleanup: could not delete ${uri}: ${(err as Error).message} (further failures not reported)`);
        cleanupWarned = true;
      }
    }
  };

  const done = (s: { line: number }, r: Result): Result | Aborted => {
    if (!journalled(() => journal.write({ line: s.line, state: 'done' }))) return ABORTED;
    produced.add(r);
    return r;
  };
  const fail = (s: Submitted, error: RecordError): Result => {
    const r: Result = { line: s.line, ok: false, inferenceId: s.inferenceId, error, attempts: s.attempts, latencyMs: deps.now() - s.entry.at };
    if (s.meta !== undefined) r.meta = s.meta;
    return r;
  };
  const mark = (r: Result | Aborted): Result | Aborted => {
    if (r !== ABORTED) produced.add(r);
    return r;
  };

  /** Submits, or picks up what an earlier run journalled; the record's body is let go of once submitted. */
  const start = async (rec: GoodRecord): Promise<Submitted | Result | Aborted> => {
    const prior = journal.lookup(rec.line);
    if (prior?.state === 'submitted') {
      counts.pending++;
      counts.resumed++;
      return { line: rec.line, inferenceId: rec.fields.inferenceId, meta: rec.meta, attempts: 0, entry: prior };
    }
    if (prior?.state === 'submitting' && !opts.resendUnconfirmed) {
      return failed(
        rec,
        {
          code: 'AsyncSubmitUnconfirmed',
          message: 'an earlier run was submitting this record when it stopped and never heard back: it is not submitted again (--resume-failed sends it again)',
        },
        0,
        undefined,
      );
    }
    const plan = checkAsyncRecord(rec, opts);
    if ('code' in plan) return failed(rec, plan, 0, undefined);
    return submit(rec, plan, prior?.state === 'uploading' ? prior.input : undefined);
  };

  return {
    invoke(rec: GoodRecord): Promise<Result | Aborted> {
      const mySeq = seq++;
      // (No closure below refers to `rec`: once submitted, a pending record holds its locations only.)
      return start(rec).then((s) => {
        if (s === ABORTED) return s;
        if ('entry' in s) return collect(s, mySeq);
        return mark(s);
      });
    },
    taken(r: Result): void {
      if (produced.has(r)) turns.advance();
    },
  };
}

/**
 * Records may read their answers only while fewer than `ahead` earlier ones are still to be written:
 * the answers in memory are the next few, however many records are pending.
 */
class Turns {
  #taken = 0;
  readonly #waiting = new Map<number, () => void>();
  constructor(readonly ahead: number) {}

  allowed(seq: number): boolean {
    return seq < this.#taken + this.ahead;
  }

  wait(seq: number, signal: AbortSignal): Promise<boolean> {
    if (this.allowed(seq)) return Promise.resolve(true);
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = (): void => {
        this.#waiting.delete(seq);
        resolve(false);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiting.set(seq, () => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      });
    });
  }

  advance(): void {
    this.#taken++;
    const next = this.#taken + this.ahead - 1;
    const go = this.#waiting.get(next);
    if (go !== undefined) {
      this.#waiting.delete(next);
      go();
    }
  }
}

function header(res: HttpResponse | undefined, name: string): string | undefined {
  const v = res?.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The 202's body: `{"InferenceId": "..."}`. */
function inferenceIdOf(res: HttpResponse | undefined): string | undefined {
  if (res === undefined || res.body.length === 0) return undefined;
  try {
    const v = JSON.parse(res.body.toString('utf8')) as { InferenceId?: unknown };
    return typeof v.InferenceId === 'string' ? v.InferenceId : undefined;
  } catch {
    return undefined;
  }
}

function s3Hint(err: S3Failure): string {
  if (err.unreachable)
    return 'check --s3-endpoint-url / AWS_ENDPOINT_URL_S3, the network and the proxy settings; records already submitted are in the journal (--resume collects them)';
  if (err.status === 403) return 'the credentials may not read or write this bucket (s3:PutObject, s3:GetObject)';
  if (err.code === 'NoSuchBucket') return "the bucket does not exist (check --async-input, and the endpoint's S3OutputPath)";
  return 'records already submitted are in the journal (--resume collects them)';
}
