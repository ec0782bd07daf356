// Decode -> build -> sign -> send (with retries) -> encode, over the ordered bounded map.
// Everything with side effects (clock, randomness, sleep, signing, sending, writing) comes in as
// an argument, so tests drive it with the real emulator and a pinned clock.
import { setMaxListeners } from 'node:events';
import type { OutputMode } from '../cli/args.js';
import { FatalError, type RecordError } from '../errors.js';
import { decodeLine, type DecodeOptions, type DecodedRecord, type GoodRecord } from './records.js';
import { orderedMap } from './ordered-map.js';
import type { IncomingHttpHeaders } from 'node:http';
import { buildRequest, type HttpRequestSpec, type Target } from './request.js';
import { encodeBodyOnly, encodeResultParts, readResultHead, type DryRunRequest, type Result } from './result-format.js';
import type { AdaptiveConcurrency, DynamicSemaphore, RateLimiter } from './limiter.js';
import { LatencyHistogram } from './stats.js';
import { CLOCK_SKEW_THRESHOLD_MS, retryAfterMs, retryDelay, serverTimeMs } from '../aws/retry.js';
import { createRetryQuota, type RetryQuota } from '../aws/retry-quota.js';
import {
  classifyServiceError, classifyTransportError, isEndpointNotFound, parseServiceError, type FailureKind,
} from '../aws/service-error.js';
import type { Sign } from '../aws/sign.js';
import { TransportError, type Send } from '../http/transport.js';
import {
  H_CLOSED_SESSION_ID, H_CONTENT_TYPE, H_CUSTOM_ATTRIBUTES, H_INVOKED_VARIANT, H_NEW_SESSION_ID,
} from '../constants.js';

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
  /**
   * Bytes of records in flight and results waiting for an earlier one, at most (about: a running
   * record counts its body and the mean answer so far); default DEFAULT_MAX_BUFFER_BYTES.
   */
  maxBufferBytes?: number;
}

/** Memory for records in flight and results waiting behind a slow one: 32 MiB. */
export const DEFAULT_MAX_BUFFER_BYTES = 32 * 1024 * 1024;
/** JSON answers this large are written as their own bytes, not copied into the result line's text. */
const RAW_BODY_BYTES = 64 * 1024;
/** What a record or result costs besides its body (objects, headers, the encoded line). */
const PER_ITEM_BYTES = 512;

function recordBytes(rec: DecodedRecord | Kept): number {
  if (rec instanceof Kept) return rec.text.length + PER_ITEM_BYTES;
  return (rec.error ? 0 : rec.body.length) + PER_ITEM_BYTES;
}

function outcomeBytes(o: Outcome): number {
  if (o === ABORTED) return 0;
  if (o instanceof Kept) return o.text.length + PER_ITEM_BYTES;
  return (o.body?.length ?? 0) + PER_ITEM_BYTES;
}

export interface Admission {
  /** Bounds attempts in flight; its limit may change (adaptive concurrency). */
  semaphore?: DynamicSemaphore;
  /** Told about each attempt's outcome; the semaphore's limit follows it. */
  adaptive?: AdaptiveConcurrency;
  rate?: RateLimiter;
}

export interface ResumeInput {
  /** The first `records` input records are answered already. */
  records: number;
  /** The `line` of the last answer, to check that the input is the same one. */
  lastLine?: number | undefined;
  /** Its `inferenceId` and `meta` (compact JSON), checked against that record too. */
  lastInferenceId?: string | undefined;
  lastMeta?: string | undefined;
  /**
   * --resume-failed: the earlier results, one line per record. Records whose earlier result was ok keep
   * that line verbatim; failed ones are sent again. Without it, answered records are skipped.
   */
  previous?: AsyncIterable<string>;
}

export interface AttemptInfo {
  line: number;
  attempt: number;
  /** The signed request as sent. */
  request: HttpRequestSpec;
  status?: number | undefined;
  error?: RecordError | undefined;
  latencyMs: number;
  /** What happens next: 'done', 'retry in N ms', 'give up', 'fatal'. */
  decision: string;
}

export interface Summary {
  /** Records read (blank lines are not records). */
  records: number;
  /** Records whose answer an earlier run already gave (--resume). */
  resumed: number;
  /** Input bytes taken so far: the lines handed to the decoder, newlines included (--progress percentage). */
  bytesIn: number;
  /** Attempts on the wire right now. */
  inFlight: number;
  /** Latency of each record's last attempt. */
  latency: LatencyHistogram;
  startedAt: number;
  /** Result lines written. */
  written: number;
  ok: number;
  failed: number;
  attempts: number;
  retries: number;
  throttles: number;
  /** Why the run ended early, if it did. */
  stoppedBy?: 'fatal' | 'max-errors' | 'stop';
  fatal?: FatalError;
}

const ABORTED = Symbol('aborted');

/** Failures to connect at all: if no record has got through yet, the service is not reachable. */
const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ConnectTimeoutError',
  'UND_ERR_CONNECT_TIMEOUT', 'ProxyUnreachable', 'ProxyTunnelFailed']);
/** An answer from an earlier run, written again verbatim (--resume-failed). */
class Kept {
  constructor(readonly text: string) {}
}
type Outcome = Result | Kept | typeof ABORTED;

export function newSummary(startedAt: number): Summary {
  return {
    records: 0, resumed: 0, bytesIn: 0, written: 0, ok: 0, failed: 0, attempts: 0, retries: 0, throttles: 0, inFlight: 0,
    latency: new LatencyHistogram(), startedAt,
  };
}

export async function runPipeline(init: PipelineInit): Promise<Summary> {
  const now = init.now ?? Date.now;
  const random = init.random ?? Math.random;
  const sleep = init.sleep ?? abortableSleep;
  const summary: Summary = init.summary ?? newSummary(now());
  const admission = init.admission ?? {};
  const quota = init.retryQuota ?? await createRetryQuota();
  let quotaWarned = false;

  const stopReading = new AbortController();
  const cancel = new AbortController();
  // Every in-flight request and retry sleep listens on `cancel`: far more than the default 10.
  setMaxListeners(0, stopReading.signal, cancel.signal);
  let graceTimer: NodeJS.Timeout | undefined;
  const onStop = (): void => {
    summary.stoppedBy ??= 'stop';
    stopReading.abort();
    // reason 'now' (the reader went away): cancel at once; otherwise let in-flight requests finish.
    if (init.stop?.reason === 'now') cancel.abort();
    else graceTimer = setTimeout(() => cancel.abort(), init.graceMs ?? 0);
  };
  if (init.stop?.aborted) onStop();
  else init.stop?.addEventListener('abort', onStop, { once: true });

  let clockOffsetMs = 0;
  let anySuccess = false;
  /** A credential refresh under way, shared by every record that saw ExpiredToken meanwhile. */
  let refreshing: Promise<void> | undefined;
  /** Access keys the service called expired and that a refresh has already replaced. */
  const expiredKeys = new Set<string>();
  /** Endpoints the service said do not exist (or this caller may not invoke), with the line that found out. */
  const deadEndpoints = new Map<string, { line: number; error: RecordError }>();

  const fatal = (err: FatalError): typeof ABORTED => {
    if (!summary.fatal) {
      summary.fatal = err;
      summary.stoppedBy = 'fatal';
    }
    stopReading.abort();
    cancel.abort();
    return ABORTED;
  };

  const invoke = async (rec: DecodedRecord | Kept): Promise<Outcome> => {
    if (rec instanceof Kept) return rec;
    if (rec.error) {
      const r: Result = { line: rec.line, ok: false, error: rec.error, attempts: 0 };
      if (rec.inferenceId !== undefined) r.inferenceId = rec.inferenceId;
      if (rec.meta !== undefined) r.meta = rec.meta;
      return r;
    }
    const endpoint = rec.fields.endpointName!;
    const dead = deadEndpoints.get(endpoint);
    if (dead !== undefined) {
      const why = dead.error.code === 'AccessDeniedException' ? 'may not be invoked with these credentials' : 'was not found';
      return failed(rec, { code: dead.error.code, message: `endpoint ${endpoint} ${why} (see line ${dead.line}); not sent` }, 0, undefined);
    }
    const request = buildRequest(rec, init.target);
    if (init.dryRun) {
      summary.ok++;
      const r: Result = { line: rec.line, ok: true, inferenceId: rec.fields.inferenceId, request: describeRequest(request) };
      if (rec.meta !== undefined) r.meta = rec.meta;
      return r;
    }
    let attempt = 0;
    let refreshedCredentials = false;
    let quotaToken = quota.initial;
    for (;;) {
      if (cancel.signal.aborted) return ABORTED;
      attempt++;
      let release: (() => void) | undefined;
      try {
        // (No `await` on an absent limiter: each one is a turn of the microtask queue per record.)
        if (admission.rate) await admission.rate.take(cancel.signal);
        if (admission.semaphore) release = await admission.semaphore.acquire(cancel.signal);
      } catch {
        return ABORTED;
      }
      // The adaptive limit's epoch when this attempt got its slot (not after signing: a decrease in
      // between would make its answer count as news about the new, lower limit).
      const epoch = admission.adaptive ? admission.adaptive.epoch : 0;
      summary.attempts++;
      let signed;
      const offsetUsed = clockOffsetMs;
      try {
        signed = await init.sign(request, new Date(now() + offsetUsed));
      } catch (err) {
        release?.();
        return fatal(new FatalError(`could not get AWS credentials: ${(err as Error).message}`, 'CredentialsError',
          'check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, --profile/AWS_PROFILE and the shared credentials file'));
      }
      const started = now();
      let kind: FailureKind;
      let error: RecordError;
      let hintMs: number | undefined;
      let status: number | undefined;
      summary.inFlight++;
      try {
        let res;
        try {
          res = await init.send(signed, { signal: cancel.signal, timeoutMs: init.timeoutMs, connectTimeoutMs: init.connectTimeoutMs });
        } finally {
          summary.inFlight--;
          // Adaptive: the slot is freed only after the controller has heard this answer (below), so
          // that a waiter it admits is of the controller's next epoch only if the limit allows it.
          if (!admission.adaptive) release?.();
        }
        const latencyMs = now() - started;
        status = res.status;
        if (res.status >= 200 && res.status < 300) {
          correctClock(res.headers);
          anySuccess = true;
          quota.release(quotaToken);
          summary.ok++;
          summary.latency.add(latencyMs);
          if (admission.adaptive) {
            admission.adaptive.onSuccess(epoch, latencyMs);
            release?.(); // (and admits waiters up to the new limit)
          }
          init.onAttempt?.({ line: rec.line, attempt, request: signed, status, latencyMs, decision: 'done' });
          const r: Result = {
            line: rec.line,
            ok: true,
            inferenceId: rec.fields.inferenceId,
            status: res.status,
            contentType: header(res.headers[H_CONTENT_TYPE]),
            invokedProductionVariant: header(res.headers[H_INVOKED_VARIANT]),
            customAttributes: header(res.headers[H_CUSTOM_ATTRIBUTES]),
            newSessionId: header(res.headers[H_NEW_SESSION_ID]),
            closedSessionId: header(res.headers[H_CLOSED_SESSION_ID]),
            body: res.body,
            attempts: attempt,
            latencyMs,
          };
          if (rec.meta !== undefined) r.meta = rec.meta;
          return r;
        }
        error = parseServiceError(res.status, res.headers, res.body);
        // Like the JS SDK: a server clock 5 minutes or more away from ours corrects our offset, and the
        // failed attempt is then retried, re-signed with the corrected time, whatever the error was.
        // Also when another record's answer made the correction while this one was in flight.
        correctClock(res.headers);
        kind = offsetUsed !== clockOffsetMs ? 'transient' : classifyServiceError(error, init.retryModelErrors);
        hintMs = retryAfterMs(res.headers, now());
        if (kind === 'fatal' && /^ExpiredToken/.test(error.code) && init.refreshCredentials && !refreshedCredentials) {
          // Temporary credentials ran out: fetch new ones (once per expired key, shared by every record
          // that was signed with it) and try this record again, once.
          refreshedCredentials = true;
          const key = accessKeyOf(signed);
          if (!expiredKeys.has(key)) {
            expiredKeys.add(key);
            refreshing ??= init.refreshCredentials().finally(() => { refreshing = undefined; });
          }
          release?.(); // not while waiting for new credentials
          await refreshing?.catch(() => undefined);
          kind = 'transient';
        } else if (kind === 'fatal' && (isEndpointNotFound(error) || error.code === 'AccessDeniedException')
          && init.decode.defaults.endpointName !== endpoint) {
          // Only this record's own endpoint is missing (or denied): fail the records that name it, keep the rest going.
          deadEndpoints.set(endpoint, { line: rec.line, error });
          kind = 'final';
        }
      } catch (err) {
        if (cancel.signal.aborted) {
          release?.();
          return ABORTED;
        }
        const code = err instanceof TransportError ? err.code : 'NetworkError';
        error = { code, message: (err as Error).message };
        kind = classifyTransportError(code);
      }
      if (kind === 'throttling') summary.throttles++;
      if (admission.adaptive && (kind === 'throttling' || status === 503)) admission.adaptive.onThrottle(epoch);
      release?.();
      const latencyMs = now() - started;
      const report = (decision: string): void =>
        init.onAttempt?.({ line: rec.line, attempt, request: signed, status, error, latencyMs, decision });
      if (kind === 'fatal') {
        report('fatal: stopping the run');
        return fatal(new FatalError(`${error.code}: ${error.message}`, error.code, fatalHint(error, init.target)));
      }
      // The retry quota pays for the retry, as in the SDKs (not for the one after a credential refresh,
      // which they do not make); when it cannot, the record is not retried.
      let quotaEmpty = false;
      if (kind !== 'final' && attempt < init.maxAttempts && !/^ExpiredToken/.test(error.code)) {
        const paid = await quota.acquire(quotaToken, kind);
        if (paid) quotaToken = paid;
        else quotaEmpty = true;
      }
      if (kind === 'final' || attempt >= init.maxAttempts || quotaEmpty) {
        if (!anySuccess && kind !== 'final' && CONNECT_ERRORS.has(error.code)) {
          report('fatal: stopping the run');
          return fatal(new FatalError(`cannot reach ${init.target.host}: ${error.code}: ${error.message} (after ${attempt} attempts)`,
            error.code, error.code.startsWith('Proxy') ? 'check HTTPS_PROXY / HTTP_PROXY and NO_PROXY' : 'check --endpoint-url / --region and the network'));
        }
        report(kind === 'final' ? `give up: ${error.code} is not retried`
          : quotaEmpty ? `give up: the retry quota is empty (${quota.capacity} tokens left)` : `give up: ${attempt} attempts made (--max-attempts)`);
        if (quotaEmpty && !quotaWarned) {
          quotaWarned = true;
          init.warn(`retry quota empty: retryable failures fail without a retry until successes refill it (line ${rec.line}: ${error.code}, attempt ${attempt})`);
        }
        summary.latency.add(latencyMs);
        return failed(rec, error, attempt, latencyMs);
      }
      summary.retries++;
      const delay = retryDelay(attempt - 1, kind === 'throttling', random, hintMs);
      report(`retry in ${delay} ms (${kind})`);
      try {
        await sleep(delay, cancel.signal);
      } catch {
        return ABORTED;
      }
    }
  };

  /** Updates the clock offset from a response's Date header; true when it changed. */
  const correctClock = (headers: IncomingHttpHeaders): boolean => {
    const serverTime = serverTimeMs(headers);
    if (serverTime === undefined || Math.abs(serverTime - (now() + clockOffsetMs)) < CLOCK_SKEW_THRESHOLD_MS) return false;
    clockOffsetMs = serverTime - now();
    return true;
  };

  const failed = (rec: GoodRecord, error: RecordError, attempts: number, latencyMs: number | undefined): Result => {
    const r: Result = { line: rec.line, ok: false, inferenceId: rec.fields.inferenceId, error, attempts };
    if (latencyMs !== undefined) r.latencyMs = latencyMs;
    if (rec.meta !== undefined) r.meta = rec.meta;
    return r;
  };

  try {
    const source = init.records ?? decodeLines(init.lines, init.decode, stopReading.signal, summary, init.resume);
    let toldBytesBound = false;
    const mapOptions = {
      concurrency: init.concurrency,
      maxBytes: init.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES,
      itemBytes: recordBytes,
      resultBytes: outcomeBytes,
      onBytesBound: (running: number) => {
        if (!toldBytesBound && running * 4 < init.concurrency) {
          toldBytesBound = true;
          init.warn(`large records: ${running} in flight fill the memory for records and waiting results (--max-buffer-mib ${Math.round(mapOptions.maxBytes / 1048576)}); fewer than --concurrency go out at once (raise --max-buffer-mib to send more)`);
        }
      },
    };
    for await (const outcome of orderedMap(source, invoke, mapOptions)) {
      if (outcome === ABORTED) break; // stop at the first record that has no real answer
      if (outcome instanceof Kept) {
        const wait = init.write(outcome.text + '\n');
        if (wait && !(await settledBefore(wait, cancel.signal))) break;
        summary.written++;
        continue;
      }
      if (!outcome.ok) summary.failed++;
      if (init.onResult) {
        await init.onResult(outcome);
      } else if (init.output === 'body' && !(init.dryRun && outcome.ok)) {
        // (--dry-run has no response body: a valid record's line describes its request in either mode.)
        const { line, stderr } = encodeBodyOnly(outcome);
        if (stderr !== undefined) init.warn(stderr);
        const wait = init.write(line + '\n');
        if (wait && !(await settledBefore(wait, cancel.signal))) break;
      } else {
        const line = encodeResultParts(outcome, RAW_BODY_BYTES);
        const wait = init.write(typeof line === 'string' ? line + '\n' : [line[0], line[1], line[2] + '\n']);
        if (wait && !(await settledBefore(wait, cancel.signal))) break;
      }
      summary.written++;
      if (!outcome.ok && init.maxErrors > 0 && summary.failed >= init.maxErrors && !stopReading.signal.aborted) {
        summary.stoppedBy = 'max-errors';
        stopReading.abort(); // records already sent still finish and are written
      }
    }
  } finally {
    if (graceTimer) clearTimeout(graceTimer);
    init.stop?.removeEventListener('abort', onStop);
    cancel.abort();
  }
  return summary;
}

/**
 * Lines -> records, numbering every input line; blank lines are skipped. Ends when `stop` aborts.
 * With `resume`, the first `resume.records` records are skipped, or (with `previous`) those answered ok
 * come back as their earlier result line.
 */
async function* decodeLines(
  lines: AsyncIterable<string>, opts: DecodeOptions, stop: AbortSignal, summary: Summary, resume?: ResumeInput,
): AsyncGenerator<DecodedRecord | Kept> {
  const it = lines[Symbol.asyncIterator]();
  const reader = stoppable(it, stop);
  const previous = resume?.previous?.[Symbol.asyncIterator]();
  let lineNo = 0;
  let ended = false;
  try {
    for (;;) {
      if (stop.aborted) break;
      const next = await reader.next();
      if (next === 'stop') break;
      if (next.done) {
        ended = true;
        break;
      }
      summary.bytesIn += next.value.length + 1; // latin1: one char per byte
      lineNo++;
      const rec = decodeLine(next.value, lineNo, opts);
      if (rec === undefined) continue;
      summary.records++;
      if (resume && summary.records <= resume.records) {
        if (summary.records === resume.records) checkSameRecord(resume, rec, lineNo);
        if (!previous) {
          summary.resumed++;
          continue;
        }
        const old = await previous.next();
        if (old.done) throw new ResumeMismatch('the outfile ended before its counted results');
        const text = typeof old.value === 'string' ? old.value : String(old.value);
        if (wasOk(text)) {
          summary.resumed++; // a failed one is sent again: it counts as ok or failed instead
          yield new Kept(text);
          continue;
        }
      }
      yield rec;
    }
    // (Only an input that really ended can be shorter than the outfile: a stopped run proves nothing.)
    if (ended && resume && summary.records < resume.records) {
      throw new ResumeMismatch(`the outfile has ${resume.records} results but this input has only ${summary.records} records: not the same input`);
    }
  } finally {
    reader.close();
    void it.return?.();
    void previous?.return?.();
  }
}

/** Throws unless record `resume.records` of this input is the one the outfile's last result answers. */
function checkSameRecord(resume: ResumeInput, rec: DecodedRecord, lineNo: number): void {
  const last = `the outfile's last result (record ${resume.records})`;
  if (resume.lastLine !== undefined && resume.lastLine !== lineNo) {
    throw new ResumeMismatch(`the outfile's last result is for line ${resume.lastLine}, but record ${resume.records} of this input is on line ${lineNo}: not the same input`);
  }
  const id = rec.error ? rec.inferenceId : rec.fields.inferenceId;
  if (resume.lastLine !== undefined && resume.lastInferenceId !== id) {
    throw new ResumeMismatch(`${last} has inferenceId ${JSON.stringify(resume.lastInferenceId ?? null)}, but line ${lineNo} of this input has ${JSON.stringify(id ?? null)}: not the same input`);
  }
  const meta = rec.meta;
  if (resume.lastLine !== undefined && resume.lastMeta !== meta) {
    throw new ResumeMismatch(`${last} has meta ${resume.lastMeta ?? 'null'}, but line ${lineNo} of this input has ${meta ?? 'null'}: not the same input`);
  }
}

/**
 * The iterator's items, or 'stop' as soon as `stop` aborts (a read may wait forever on an idle
 * stdin). One abort listener for the whole run settles whichever read is pending: adding and removing
 * a listener per line was 2% of the CPU, and racing every read against one long-lived promise would
 * leave a reaction on that promise per record (memory growing with the input).
 */
function stoppable<T>(it: AsyncIterator<T>, stop: AbortSignal): { next(): Promise<IteratorResult<T> | 'stop'>; close(): void } {
  let pending: ((r: 'stop') => void) | undefined;
  const onAbort = (): void => {
    const p = pending;
    pending = undefined;
    p?.('stop');
  };
  stop.addEventListener('abort', onAbort, { once: true });
  return {
    next: () => {
      if (stop.aborted) return Promise.resolve('stop');
      return new Promise((resolve, reject) => {
        pending = resolve;
        it.next().then(
          (r) => { pending = undefined; resolve(r); },
          (e: unknown) => { pending = undefined; reject(e); },
        );
      });
    },
    close: () => stop.removeEventListener('abort', onAbort),
  };
}

/** The input does not match the outfile being resumed. */
export class ResumeMismatch extends Error {
  override readonly name = 'ResumeMismatch';
}

function wasOk(resultLine: string): boolean {
  return readResultHead(resultLine)?.ok === true;
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

/** The access key id in a signed request's Authorization header. */
function accessKeyOf(signed: HttpRequestSpec): string {
  return /Credential=([^/,\s]+)\//.exec(signed.headers.authorization ?? '')?.[1] ?? '';
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

function fatalHint(e: RecordError, target: Target): string {
  if (isEndpointNotFound(e)) return `check the endpoint name and the region (requests go to ${target.host})`;
  if (e.code === 'AccessDeniedException') return 'the credentials lack sagemaker:InvokeEndpoint on this endpoint';
  if (/ExpiredToken/.test(e.code)) return 'the session token has expired: refresh your credentials';
  if (/Signature|Token|Client/.test(e.code)) return 'check the AWS access key and secret (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or --profile)';
  if (e.code === 'UnknownOperationException') return `check --endpoint-url: ${target.host} does not serve InvokeEndpoint at this path`;
  if (e.code.startsWith('Proxy')) return 'check the proxy URL in HTTPS_PROXY / HTTP_PROXY (user:password@ for credentials) and NO_PROXY';
  if (e.status === undefined) return `the certificate of ${target.host} is not trusted: give its CA with --ca-bundle FILE or AWS_CA_BUNDLE (or NODE_EXTRA_CA_CERTS), or skip the check with --no-verify-ssl`;
  return 'see the message above';
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
    wait.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, () => {
      signal.removeEventListener('abort', onAbort);
      resolve(false);
    });
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
