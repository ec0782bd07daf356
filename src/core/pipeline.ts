// The run: records from the source (source.ts), each through the invocation unit (invoke.ts) over
// the ordered bounded map, each result encoded (result-format.ts) and written in input order. Also
// here: stopping (a signal's grace period, a reader gone, a fatal error) and --max-errors.
// Everything with side effects (clock, randomness, sleep, signing, sending, writing) comes in as an
// argument, so tests drive it with the real emulator and a pinned clock.
import { isUtf8 } from 'node:buffer';
import { setMaxListeners } from 'node:events';
import type { FatalError } from '../errors.js';
import { createRetryQuota, type RetryQuota } from '../aws/retry-quota.js';
import type { Sign } from '../aws/sign.js';
import type { HttpRequestSpec, Send, SendStream } from '../wire.js';
import { Batch, batchBody, packRecords, type BatchOptions, type Timer } from './batch.js';
import { createBatchInvoker } from './batch-invoke.js';
import { buildAsyncRequest } from './async/request.js';
import { createAsyncUnit, type AsyncSetup } from './async/setup.js';
import { AnswerBudget } from './answer-budget.js';
import { ABORTED, createInvoker, type Aborted, type Admission, type AttemptInfo } from './invoke.js';
import { orderedMap } from './ordered-map.js';
import { createStreamSend, type ObserverFor, type StreamMemory, type StreamSettings } from './stream-invoke.js';
import type { DecodeOptions, DecodedRecord, GoodRecord } from './records.js';
import { buildRequest, type Target } from './request.js';
import { encodeFormatLine } from './formats/batch-output.js';
import type { LlmJob } from './llm/job.js';
import { encodeBodyOnly, encodeResultParts, type DryRunRequest, type OutputMode, type Result } from './result-format.js';
import { Kept, decodeLines, type RecordSeen, type ResumeInput } from './source.js';
import { countFailure, newSummary, noteEndpoint, type Summary } from './summary.js';

export type { Admission, AttemptInfo } from './invoke.js';
export { ResumeMismatch, type RecordSeen, type ResumeInput } from './source.js';
export { newSummary, type Summary } from './summary.js';

export interface PipelineInit {
  /** Input lines as latin1 strings (lines.ts). */
  lines: AsyncIterable<string>;
  /** Records already decoded, used instead of `lines` (single invocation). */
  records?: AsyncIterable<DecodedRecord>;
  decode: DecodeOptions;
  concurrency: number;
  target: Target;
  sign: Sign;
  send: Send;
  /** Called once when the service says the credentials expired; should force a refresh. */
  refreshCredentials?: (() => Promise<void>) | undefined;
  output: OutputMode;
  /**
   * Writes output text (a line, or a line in pieces around a large answer's own bytes); resolves
   * when the destination can take more.
   */
  write: (text: string | readonly (string | Buffer)[]) => Promise<void> | void;
  /** One line to stderr. */
  warn: (line: string) => void;
  maxAttempts: number;
  retryModelErrors: boolean;
  timeoutMs: number;
  connectTimeoutMs: number;
  maxErrors: number;
  /** Aborted by main on SIGINT/SIGTERM: stop reading, finish in-flight within graceMs; with reason 'now' (EPIPE): cancel at once. */
  stop?: AbortSignal | undefined;
  graceMs?: number;
  now?: () => number;
  random?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** The SDKs' retry quota (retry-quota.ts); a new one per run by default. */
  retryQuota?: RetryQuota;
  /** Live statistics, updated as the run goes (main reads it for --progress and --stats). */
  summary?: Summary;
  /** Per-attempt admission control: adaptive concurrency and/or a rate limit. */
  admission?: Admission;
  /** Called after every attempt (--debug). */
  onAttempt?: (a: AttemptInfo) => void;
  /** Validate and describe each request; nothing is signed or sent (--dry-run). */
  dryRun?: boolean;
  /** Receives each result in order instead of it being encoded and written (single invocation). */
  onResult?: (r: Result) => Promise<void> | void;
  /** --resume / --resume-failed: what an earlier run of the same input already answered. */
  resume?: ResumeInput;
  /** Sees each record's input line as it is read (the outfile's digest file). */
  seen?: RecordSeen;
  /**
   * Bytes of records in flight and results waiting for an earlier one, at most (about: a running
   * record counts its body and the mean answer so far); default DEFAULT_MAX_BUFFER_BYTES.
   */
  maxBufferBytes?: number;
  /** Many records per request (--batch-size above 1); absent: one record per request. */
  batch?: BatchOptions | undefined;
  /** The batch linger's timer (tests inject one). */
  batchTimer?: Timer;
  /** --join-input: each result carries its record's input. */
  joinInput?: boolean;
  /** Records with `stream`: the streaming exchange, its limits, and an optional per-record part observer. */
  stream?: { send: SendStream; settings: StreamSettings; observe?: ObserverFor | undefined } | undefined;
  /** --llm: each answer read in its schema (llm/job.ts); streamed parts go through its observer. */
  llm?: LlmJob | undefined;
  /** --async: InvokeEndpointAsync per record, answers collected from S3 (core/async/). */
  async?: AsyncSetup | undefined;
}

/** Memory for records in flight and results waiting behind a slow one: 32 MiB. */
export const DEFAULT_MAX_BUFFER_BYTES = 32 * 1024 * 1024;
/** JSON answers this large are written as their own bytes, not copied into the result line's text. */
const RAW_BODY_BYTES = 64 * 1024;
/** What a record or result costs besides its body (objects, headers, the encoded line). */
const PER_ITEM_BYTES = 512;

/** A batch's outcome is its records' results, in order. */
type Outcome = Result | Result[] | Kept | Aborted;
type Unit = DecodedRecord | Kept | Batch;

function recordBytes(rec: Unit): number {
  if (rec instanceof Kept) return rec.text.length + PER_ITEM_BYTES;
  if (rec instanceof Batch) return rec.bytes + rec.records.length * PER_ITEM_BYTES;
  return (rec.error ? 0 : rec.body.length) + PER_ITEM_BYTES;
}

function outcomeBytes(o: Outcome): number {
  if (o === ABORTED) return 0;
  if (o instanceof Kept) return o.text.length + PER_ITEM_BYTES;
  if (Array.isArray(o)) {
    let n = 0;
    for (const r of o) n += (r.body?.length ?? 0) + PER_ITEM_BYTES;
    return n;
  }
  return (o.body?.length ?? 0) + PER_ITEM_BYTES;
}

/** --join-input: the record's input on its result (an envelope's body as written; a body-mode line as a string, or base64). */
function joinInput(rec: Pick<GoodRecord, 'body' | 'input'>, r: Result): Result {
  const input = rec.input;
  if (input !== undefined) {
    if ('json' in input) r.input = input.json;
    else r.inputBase64 = input.base64;
  } else if (isUtf8(rec.body)) r.input = JSON.stringify(rec.body.toString('utf8'));
  else r.inputBase64 = rec.body.toString('base64');
  return r;
}

/** Stops: reading (a signal, --max-errors, a fatal error) and work in flight (a fatal error, the grace period's end). */
interface Stopping {
  reading: AbortController;
  cancel: AbortController;
  done(): void;
}

function stopping(init: PipelineInit, summary: Summary): Stopping {
  const reading = new AbortController();
  const cancel = new AbortController();
  // Every in-flight request and retry sleep listens on `cancel`: far more than the default 10.
  setMaxListeners(0, reading.signal, cancel.signal);
  let graceTimer: NodeJS.Timeout | undefined;
  const onStop = (): void => {
    summary.stoppedBy ??= 'stop';
    reading.abort();
    // reason 'now' (the reader went away): cancel at once; otherwise let in-flight requests finish.
    if (init.stop?.reason === 'now') cancel.abort();
    else graceTimer = setTimeout(() => cancel.abort(), init.graceMs ?? 0);
  };
  if (init.stop?.aborted) onStop();
  else init.stop?.addEventListener('abort', onStop, { once: true });
  return {
    reading,
    cancel,
    done: () => {
      if (graceTimer) clearTimeout(graceTimer);
      init.stop?.removeEventListener('abort', onStop);
      cancel.abort();
    },
  };
}

export async function runPipeline(init: PipelineInit): Promise<Summary> {
  const now = init.now ?? Date.now;
  const summary: Summary = init.summary ?? newSummary(now());
  const stop = stopping(init, summary);
  const memory: StreamMemory = { live: 0 };
  const meter = { bytes: 0 };
  const budget = new AnswerBudget(init.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES, memory, () => meter.bytes);
  const invokerDeps = {
    budget,
    streamSend: init.stream
      ? createStreamSend({ sendStream: init.stream.send, settings: init.stream.settings, memory, observe: init.stream.observe ?? llmObserver(init.llm) })
      : undefined,
    target: init.target,
    sign: init.sign,
    send: init.send,
    now,
    random: init.random ?? Math.random,
    sleep: init.sleep ?? abortableSleep,
    admission: init.admission ?? {},
    quota: init.retryQuota ?? (await createRetryQuota()),
    maxAttempts: init.maxAttempts,
    retryModelErrors: init.retryModelErrors,
    timeoutMs: init.timeoutMs,
    connectTimeoutMs: init.connectTimeoutMs,
    defaultEndpoint: init.decode.defaults.endpointName,
    refreshCredentials: init.refreshCredentials,
    onAttempt: init.onAttempt,
    warn: init.warn,
    summary,
    cancel: stop.cancel.signal,
    onFatal: (err: FatalError) => {
      if (!summary.fatal) {
        summary.fatal = err;
        summary.stoppedBy = 'fatal';
      }
      stop.reading.abort();
      stop.cancel.abort();
    },
  };
  const invoke = createInvoker(invokerDeps);
  const asyncUnit = init.async
    ? createAsyncUnit(init.async, {
        ...invokerDeps,
        concurrency: init.concurrency,
        stopSubmitting: stop.reading.signal,
        makeInvoker: (hooks) => createInvoker({ ...invokerDeps, ...hooks, build: buildAsyncRequest, noAmbiguousRetry: true }),
      })
    : undefined;
  const invokeBatch = init.batch ? createBatchInvoker({ invoke, opts: init.batch, summary }) : undefined;
  const join = init.joinInput === true;
  /** A record's result as written: its batch-file id and input, the --llm reading, --join-input. */
  const finish = (rec: GoodRecord, r: Result | Aborted): Result | Aborted => {
    if (r === ABORTED) return r;
    carryIds(rec, r);
    if (init.llm) init.llm.finish(rec, r);
    return join ? joinInput(rec, r) : r;
  };
  /** A batch to its records' results: one request (or halves of it, split on a record's error). */
  const processBatch = async (batch: Batch): Promise<Outcome> => {
    noteEndpoint(summary, batch.records[0]!.fields.endpointName || init.decode.defaults.endpointName);
    if (init.dryRun) return dryRunBatch(init, batch, summary);
    const results = await invokeBatch!(batch);
    if (results === ABORTED || !join) return results;
    results.forEach((r, i) => {
      joinInput(batch.records[i]!, r);
    });
    return results;
  };
  /** One item of the source to its outcome: a kept line, a bad record's error, a dry run's request, or an invocation. */
  const process = (rec: Unit): Outcome | Promise<Outcome> => {
    if (rec instanceof Kept) {
      budget.started(Number.NaN, Number.NaN);
      return rec;
    }
    if (rec instanceof Batch) {
      budget.started(rec.records[0]!.line, rec.records[rec.records.length - 1]!.line);
      return processBatch(rec);
    }
    budget.started(rec.line, rec.line);
    if (rec.error) {
      const r: Result = { line: rec.line, ok: false, error: rec.error, attempts: 0 };
      if (rec.inferenceId !== undefined) r.inferenceId = rec.inferenceId;
      if (rec.meta !== undefined) r.meta = rec.meta;
      carryIds(rec, r);
      return join && rec.body !== undefined ? joinInput({ body: rec.body, input: rec.input }, r) : r;
    }
    noteEndpoint(summary, rec.fields.endpointName || init.decode.defaults.endpointName);
    if (asyncUnit) {
      if (rec.stream !== true) return asyncUnit.invoke(rec);
      // (An envelope's "stream": true: a response stream is not an async answer; never sent.)
      const r: Result = { line: rec.line, ok: false, error: { code: 'InvalidRecord', field: 'stream', message: STREAM_NOT_ASYNC }, attempts: 0 };
      if (rec.fields.inferenceId !== undefined) r.inferenceId = rec.fields.inferenceId;
      if (rec.meta !== undefined) r.meta = rec.meta;
      return r;
    }
    if (init.dryRun) {
      summary.ok++;
      const r: Result = { line: rec.line, ok: true, inferenceId: rec.fields.inferenceId, request: describeRequest(buildRequest(rec, init.target)) };
      if (rec.meta !== undefined) r.meta = rec.meta;
      carryIds(rec, r);
      return join ? joinInput(rec, r) : r;
    }
    if (!join && !init.llm && rec.recordId === undefined) return invoke(rec);
    return invoke(rec).then((r) => finish(rec, r));
  };
  try {
    const records = init.records ?? decodeLines(init.lines, init.decode, stop.reading.signal, summary, init.resume, init.seen);
    const source: AsyncIterable<Unit> = init.batch ? packRecords(records, init.batch, init.batchTimer) : records;
    out: for await (const outcome of orderedMap(source, process, mapOptions(init, memory, meter, budget))) {
      if (outcome === ABORTED) break; // stop at the first record that has no real answer
      for (const one of Array.isArray(outcome) ? outcome : [outcome]) {
        if (!(await emit(init, one, summary, stop.cancel.signal))) break out;
        if (asyncUnit && !(one instanceof Kept)) asyncUnit.taken(one);
        if (one instanceof Kept || one.ok || init.maxErrors === 0) continue;
        if (summary.failed >= init.maxErrors && !stop.reading.signal.aborted) {
          summary.stoppedBy = 'max-errors';
          stop.reading.abort(); // records already sent still finish and are written
        }
      }
    }
  } finally {
    stop.done();
  }
  return summary;
}

const STREAM_NOT_ASYNC =
  '"stream": true does not go with --async: InvokeEndpointAsync answers through S3, not as a response stream (give "stream": false, or run it without --async)';

/** The ordered map's bounds: --concurrency items at once, --max-buffer-mib bytes of them. */
function mapOptions(init: PipelineInit, memory: StreamMemory, meter: { bytes: number }, budget: AnswerBudget) {
  let told = false;
  const maxBytes = init.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES;
  // --async: a pending record is its locations (its body is let go of once submitted).
  const pending = init.async?.opts.maxPending;
  return {
    concurrency: pending ?? init.concurrency,
    ...(pending !== undefined ? { window: pending } : {}),
    maxBytes,
    itemBytes: pending !== undefined ? () => PER_ITEM_BYTES : recordBytes,
    resultBytes: outcomeBytes,
    extraBytes: () => memory.live,
    meter,
    onConsumed: () => budget.consumed(),
    onBytesBound: (running: number) => {
      if (told || running * 4 >= init.concurrency) return;
      told = true;
      init.warn(
        `large records: ${running} in flight fill the memory for records and waiting results (--max-buffer-mib ${Math.round(maxBytes / 1048576)}); fewer than --concurrency go out at once (raise --max-buffer-mib to send more)`,
      );
    },
  };
}

/** Writes one outcome in its output format; false when the write was given up (the run is stopping). */
async function emit(init: PipelineInit, outcome: Result | Kept, summary: Summary, cancel: AbortSignal): Promise<boolean> {
  const wait = write(init, outcome, summary);
  if (wait instanceof Promise && !(await settledBefore(wait, cancel))) return false;
  summary.written++;
  return true;
}

function write(init: PipelineInit, outcome: Result | Kept, summary: Summary): Promise<void> | void {
  if (outcome instanceof Kept) return init.write(outcome.text + '\n');
  if (!outcome.ok) countFailure(summary, outcome.line, outcome.error?.code);
  if (init.onResult) return init.onResult(outcome);
  if ((init.output === 'openai-batch' || init.output === 'bedrock-batch') && !(init.dryRun && outcome.ok)) {
    return init.write(encodeFormatLine(init.output, outcome) + '\n');
  }
  if (init.output === 'body' && !(init.dryRun && outcome.ok)) {
    // (--dry-run has no response body: a valid record's line describes its request in either mode.)
    const { line, stderr } = encodeBodyOnly(outcome);
    if (stderr !== undefined) init.warn(stderr);
    return init.write(line + '\n');
  }
  const line = encodeResultParts(outcome, RAW_BODY_BYTES);
  return init.write(typeof line === 'string' ? line + '\n' : [line[0], line[1], line[2] + '\n']);
}

/** A batch file's record id and (Bedrock) its modelInput, from the record to its result. */
function carryIds(rec: Pick<GoodRecord, 'recordId' | 'input'>, r: Result): void {
  if (rec.recordId === undefined) return;
  r.recordId = rec.recordId;
  if (rec.input !== undefined && 'json' in rec.input) r.modelInput = rec.input.json;
}

function llmObserver(llm: LlmJob | undefined): ObserverFor | undefined {
  return llm ? (rec) => llm.observe(rec) : undefined;
}

/** --dry-run of a batch: each record's line describes the one packed request it would go out in. */
function dryRunBatch(init: PipelineInit, batch: Batch, summary: Summary): Result[] {
  const first = batch.records[0]!;
  const body = batchBody(batch.parts, init.batch!);
  const request = describeRequest(buildRequest({ line: first.line, fields: first.fields, body }, init.target));
  summary.requests++;
  summary.requestRecords += batch.records.length;
  summary.ok += batch.records.length;
  const size = batch.records.length;
  return batch.records.map((rec, index) => {
    const r: Result = { line: rec.line, ok: true, inferenceId: rec.fields.inferenceId, request, batch: { size, index } };
    if (rec.meta !== undefined) r.meta = rec.meta;
    return init.joinInput ? joinInput(rec, r) : r;
  });
}

/** --dry-run: the request as it would go out, without any credential (it is never signed). */
function describeRequest(req: HttpRequestSpec): DryRunRequest {
  const url = `${req.protocol}//${req.headers.host ?? req.hostname}${req.path}`;
  const text = req.body.subarray(0, 120);
  let preview: string;
  const utf8 = text.toString('utf8');
  if (!utf8.includes('\ufffd')) preview = utf8.length > 80 ? `${utf8.slice(0, 80)}…` : utf8 + (req.body.length > text.length ? '…' : '');
  else preview = `base64:${req.body.subarray(0, 48).toString('base64')}${req.body.length > 48 ? '…' : ''}`;
  return { method: req.method, url, headers: { ...req.headers }, bodyBytes: req.body.length, bodyPreview: preview };
}

/**
 * Waits for a blocked destination (a reader that stopped reading) unless `signal` aborts first: a
 * stop must not wait for the reader beyond its grace period. True when the write went through.
 */
function settledBefore(wait: Promise<void>, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
    wait.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      },
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve(false);
      },
    );
  });
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new Error('aborted'));
      return;
    }
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new Error('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
