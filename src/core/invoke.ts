// The invocation unit: one request unit (a record) becomes its result. Admission (rate, adaptive
// concurrency), signing, sending, classifying the answer, retrying with the SDKs' backoff and quota,
// clock-skew correction, a credential refresh on ExpiredToken, and the adaptive controller's
// feedback. Everything with side effects comes in as a collaborator; the policy pieces are modules
// of their own (fatal.ts, dead-endpoints.ts, clock-skew.ts, credential-refresh.ts).
import type { IncomingHttpHeaders } from 'node:http';
import type { FatalError, RecordError } from '../errors.js';
import { backoffDelay, retryAfterMs, retryDelay } from '../aws/retry.js';
import type { RetryKind, RetryQuota } from '../aws/retry-quota.js';
import { randomUUID } from 'node:crypto';
import type { StandardRetryToken } from '@smithy/types';
import { classifyServiceError, classifyTransportError, parseServiceError, type FailureKind } from '../aws/service-error.js';
import type { Sign } from '../aws/sign.js';
import { StreamFailure, TransportError, type BodyBudget, type HttpResponse, type Send } from '../wire.js';
import {
  H_CLOSED_SESSION_ID,
  H_CONTENT_TYPE,
  H_CUSTOM_ATTRIBUTES,
  H_INVOKED_VARIANT,
  H_NEW_SESSION_ID,
  H_REQUEST_ID,
  H_SM_CONTENT_TYPE,
} from '../constants.js';
import { ClockSkew } from './clock-skew.js';
import { CredentialRefresh } from './credential-refresh.js';
import { DeadEndpoints } from './dead-endpoints.js';
import { CONNECT_ERRORS, credentialsFatal, errorFatal, unreachableFatal } from './fatal.js';
import type { AdaptiveConcurrency, DynamicSemaphore, RateLimiter } from './limiter.js';
import type { GoodRecord } from './records.js';
import { buildRequest, type HttpRequestSpec, type Target } from './request.js';
import type { Result } from './result-format.js';
import { streamFailureKind, type StreamSend } from './stream-invoke.js';
import type { Summary } from './summary.js';
import { ThrottleBudget } from './throttle-budget.js';

/** No real answer: the run is stopping (a fatal error, or a stop whose grace period ended). */
export const ABORTED = Symbol('aborted');
export type Aborted = typeof ABORTED;

export interface Admission {
  /** Bounds attempts in flight; its limit may change (adaptive concurrency). */
  semaphore?: DynamicSemaphore;
  /** Told about each attempt's outcome; the semaphore's limit follows it. */
  adaptive?: AdaptiveConcurrency;
  rate?: RateLimiter;
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

export interface InvokerDeps {
  target: Target;
  sign: Sign;
  send: Send;
  /** Room for answers as they are read (answer-budget.ts); absent: answers are read at once. */
  budget?: BodyBudget | undefined;
  /** Records with `stream` (--stream): InvokeEndpointWithResponseStream's exchange (stream-invoke.ts). */
  streamSend?: StreamSend | undefined;
  now: () => number;
  random: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  admission: Admission;
  quota: RetryQuota;
  maxAttempts: number;
  retryModelErrors: boolean;
  timeoutMs: number;
  connectTimeoutMs: number;
  /** The run's own endpoint (--endpoint-name): its absence is fatal, another one's fails only its records. */
  defaultEndpoint: string | undefined;
  /** Forces new credentials (called when the service says they expired). */
  refreshCredentials?: (() => Promise<void>) | undefined;
  /** After every attempt (--debug). */
  onAttempt?: ((a: AttemptInfo) => void) | undefined;
  /** One line to stderr. */
  warn: (line: string) => void;
  /** Live counters: attempts, in flight, ok, retries, throttles, latency. */
  summary: Summary;
  /** Aborted when work in flight must stop. */
  cancel: AbortSignal;
  /** Called with an error that would fail every record: the run stops. */
  onFatal: (err: FatalError) => void;
  /** Another operation's request for a record (--async: core/async/request.ts); default InvokeEndpoint's. */
  build?: ((rec: GoodRecord, target: Target) => HttpRequestSpec) | undefined;
  /** Sees each 2xx answer before its result is made (--async reads the locations from its headers). */
  onAnswer?: ((rec: GoodRecord, res: HttpResponse) => void) | undefined;
  /**
   * A network error after the request may have reached the service is not retried (--async: a
   * second submission would be a second job); errors before it was sent (CONNECT_ERRORS) still are.
   */
  noAmbiguousRetry?: boolean | undefined;
}

/** One attempt's slot: its release, and the adaptive controller's epoch when it was given. */
interface Slot {
  release: (() => void) | undefined;
  epoch: number;
}

/** An attempt that did not succeed: its error, its class, and what the answer said. */
interface Failure {
  error: RecordError;
  kind: FailureKind;
  status?: number | undefined;
  hintMs?: number | undefined;
  /** New credentials were fetched for the next attempt (ExpiredToken). */
  refreshed?: boolean;
}

export function createInvoker(deps: InvokerDeps): (rec: GoodRecord) => Promise<Result | Aborted> {
  const { admission, summary, cancel } = deps;
  const skew = new ClockSkew(deps.now);
  const dead = new DeadEndpoints(deps.defaultEndpoint);
  const refresh = new CredentialRefresh(deps.refreshCredentials);
  let anySuccess = false;
  let quotaWarned = false;

  const fatal = (err: FatalError): Aborted => {
    deps.onFatal(err);
    return ABORTED;
  };

  /**
   * Waits for the rate limiter and a slot; a retry's slot goes before new records' (its record holds
   * back the ordered output). (No `await` on an absent one: a microtask turn per record.)
   */
  const admit = async (retry: boolean): Promise<Slot | Aborted> => {
    let release: (() => void) | undefined;
    try {
      if (admission.rate) await admission.rate.take(cancel);
      if (admission.semaphore) release = await admission.semaphore.acquire(cancel, retry);
    } catch {
      return ABORTED;
    }
    // The adaptive limit's epoch when this attempt got its slot (not after signing: a decrease in
    // between would make its answer count as news about the new, lower limit).
    return { release, epoch: admission.adaptive ? admission.adaptive.epoch : 0 };
  };

  /** Sends a signed request; the slot is freed as soon as the answer is in (adaptive: after feedback). */
  const send = async (signed: HttpRequestSpec, slot: Slot, rec: GoodRecord, attempt: number): Promise<HttpResponse> => {
    summary.inFlight++;
    try {
      const options = { signal: cancel, timeoutMs: deps.timeoutMs, connectTimeoutMs: deps.connectTimeoutMs, budget: deps.budget, line: rec.line };
      if (rec.stream === true) {
        if (!deps.streamSend) throw new TransportError('this run has no streaming exchange for a streamed record', 'StreamUnsupported');
        return await deps.streamSend(signed, options, rec, attempt);
      }
      return await deps.send(signed, options);
    } finally {
      summary.inFlight--;
      // Adaptive: the slot is freed only after the controller has heard this answer, so that a waiter
      // it admits is of the controller's next epoch only if the limit allows it.
      if (!admission.adaptive) slot.release?.();
    }
  };

  /**
   * A non-2xx answer or a transport error, classified. A skewed clock makes any failure transient
   * (the attempt is re-signed with the corrected time, also when another record's answer corrected
   * it meanwhile); ExpiredToken refreshes the credentials once; a missing endpoint that only some
   * records name fails just those.
   */
  const classify = async (
    rec: GoodRecord,
    res: HttpResponse,
    signed: HttpRequestSpec,
    offsetUsed: number,
    slot: Slot,
    refreshed: boolean,
  ): Promise<Failure> => {
    const error = parseServiceError(res.status, res.headers, res.body);
    skew.correct(res.headers);
    let kind: FailureKind = offsetUsed !== skew.offsetMs ? 'transient' : classifyServiceError(error, deps.retryModelErrors);
    const hintMs = retryAfterMs(res.headers, deps.now());
    if (kind === 'fatal' && /^ExpiredToken/.test(error.code) && refresh.available && !refreshed) {
      slot.release?.(); // not while waiting for new credentials
      await refresh.after(signed);
      return { error, kind: 'transient', status: res.status, hintMs, refreshed: true };
    }
    if (kind === 'fatal' && dead.note(rec.fields.endpointName!, rec.line, error)) kind = 'final';
    return { error, kind, status: res.status, hintMs };
  };

  const succeeded = (rec: GoodRecord, res: HttpResponse, attempt: number, latencyMs: number, slot: Slot, token: StandardRetryToken): Result => {
    skew.correct(res.headers);
    anySuccess = true;
    deps.quota.release(token);
    summary.ok++;
    summary.latency.add(latencyMs);
    if (admission.adaptive) {
      admission.adaptive.onSuccess(slot.epoch, latencyMs);
      slot.release?.(); // (and admits waiters up to the new limit)
    }
    return answered(rec, res, attempt, latencyMs);
  };

  /** After a failed attempt: stop the run, give up on the record, or the delay before the next attempt. */
  const decide = async (
    rec: GoodRecord,
    f: Failure,
    tried: number,
    token: { value: StandardRetryToken },
    budget: ThrottleBudget,
    sentAt: number,
  ): Promise<FatalError | 'give up' | number> => {
    if (f.kind === 'fatal') return errorFatal(f.error, deps.target);
    const throttle = budget.onFailure(f.kind === 'throttling', sentAt);
    // A throttle in auto mode: its slot already rests a round trip and the controller lowered the limit;
    // the record backs off from that round trip, not from the SDK's 1 s (waiting up to 1 s, the throttled
    // record held back the ordered output and the end of the run: 2-8 points of the model's limit at
    // K = 8 in the batch benchmark, docs/benchmarks.md).
    if (throttle === 'free') return backoffDelay(budget.streak - 1, admission.adaptive!.roundTripMs, deps.random, f.hintMs);
    if (throttle === 'spent') return 'give up';
    // Attempts that count toward --max-attempts (throttles that the budget covered do not).
    const attempt = tried - budget.free;
    // The retry quota pays for the retry, as in the SDKs (not for the one after a credential refresh,
    // which they do not make); when it cannot, the record is not retried.
    let quotaEmpty = false;
    if (f.kind !== 'final' && attempt < deps.maxAttempts && !/^ExpiredToken/.test(f.error.code)) {
      const paid = await deps.quota.acquire(token.value, f.kind as RetryKind);
      if (paid) token.value = paid;
      else quotaEmpty = true;
    }
    if (f.kind !== 'final' && attempt < deps.maxAttempts && !quotaEmpty) {
      return retryDelay(attempt - 1, f.kind === 'throttling', deps.random, f.hintMs);
    }
    if (!anySuccess && f.kind !== 'final' && CONNECT_ERRORS.has(f.error.code)) return unreachableFatal(f.error, deps.target, attempt);
    if (quotaEmpty && !quotaWarned) {
      quotaWarned = true;
      deps.warn(`retry quota empty: retryable failures fail without a retry until successes refill it (line ${rec.line}: ${f.error.code}, attempt ${attempt})`);
    }
    return 'give up';
  };

  const giveUpReason = (f: Failure, tried: number, budget: ThrottleBudget): string => {
    const attempt = tried - budget.free;
    if (f.kind === 'final') return `give up: ${f.error.code} is not retried`;
    if (f.kind === 'throttling' && admission.adaptive) return `give up: throttled for ${budget.budgetMinutes} minutes in a row`;
    if (attempt < deps.maxAttempts) return `give up: the retry quota is empty (${deps.quota.capacity} tokens left)`;
    return `give up: ${attempt} attempts made (--max-attempts)`;
  };

  /** A throttled attempt's slot rests (as the controller says) before the next attempt may have it. */
  const restSlot = (slot: Slot, ms: number): void => {
    const release = slot.release;
    if (release === undefined) return;
    deps.sleep(ms, cancel).then(release, release);
  };

  return async function invoke(rec: GoodRecord): Promise<Result | Aborted> {
    const deadError = dead.check(rec.fields.endpointName!);
    if (deadError !== undefined) return failed(rec, deadError, 0, undefined);
    const built = (deps.build ?? buildRequest)(rec, deps.target);
    // As the SDKs do: one id for the call, the attempt on each request (servers and the emulator
    // count a call's attempts by them).
    const call = randomUUID();
    const token = { value: deps.quota.initial };
    const budget = new ThrottleBudget(admission.adaptive !== undefined, deps.now);
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      if (cancel.aborted) return ABORTED;
      const slot = await admit(attempt > 1);
      if (slot === ABORTED) return ABORTED;
      summary.attempts++;
      const offsetUsed = skew.offsetMs;
      let signed: HttpRequestSpec;
      try {
        const request = {
          ...built,
          headers: { ...built.headers, 'amz-sdk-invocation-id': call, 'amz-sdk-request': `attempt=${attempt}; max=${deps.maxAttempts}` },
        };
        signed = await deps.sign(request, skew.signingDate());
      } catch (err) {
        slot.release?.();
        return fatal(credentialsFatal(err));
      }
      const started = deps.now();
      let f: Failure;
      try {
        const res = await send(signed, slot, rec, attempt);
        if (res.status >= 200 && res.status < 300) {
          deps.onAnswer?.(rec, res);
          const r = succeeded(rec, res, attempt, deps.now() - started, slot, token.value);
          deps.onAttempt?.({ line: rec.line, attempt, request: signed, status: res.status, latencyMs: r.latencyMs!, decision: 'done' });
          return r;
        }
        f = await classify(rec, res, signed, offsetUsed, slot, refreshed);
        if (f.refreshed) refreshed = true;
      } catch (err) {
        if (cancel.aborted) {
          slot.release?.();
          return ABORTED;
        }
        if (err instanceof StreamFailure) f = { error: err.error, kind: streamFailureKind(err, deps.retryModelErrors) };
        else {
          const code = err instanceof TransportError ? err.code : 'NetworkError';
          const kind = deps.noAmbiguousRetry && !CONNECT_ERRORS.has(code) ? 'final' : classifyTransportError(code);
          f = { error: { code, message: (err as Error).message }, kind };
        }
      }
      if (f.kind === 'throttling') summary.throttles++;
      if (admission.adaptive && (f.kind === 'throttling' || f.status === 503)) {
        restSlot(slot, admission.adaptive.onThrottle(slot.epoch));
      } else slot.release?.();
      const latencyMs = deps.now() - started;
      const report = (decision: string): void =>
        deps.onAttempt?.({ line: rec.line, attempt, request: signed, status: f.status, error: f.error, latencyMs, decision });
      const next = await decide(rec, f, attempt, token, budget, started);
      if (typeof next === 'object') {
        report('fatal: stopping the run');
        return fatal(next);
      }
      if (next === 'give up') {
        report(giveUpReason(f, attempt, budget));
        summary.latency.add(latencyMs);
        return failed(rec, f.error, attempt, latencyMs);
      }
      summary.retries++;
      report(`retry in ${next} ms (${f.kind})`);
      try {
        await deps.sleep(next, cancel);
      } catch {
        return ABORTED;
      }
    }
  };
}

/** A record's result for a 2xx answer. */
function answered(rec: GoodRecord, res: HttpResponse, attempts: number, latencyMs: number): Result {
  const r: Result = {
    line: rec.line,
    ok: true,
    inferenceId: rec.fields.inferenceId,
    status: res.status,
    contentType: header(res.headers, res.stream ? H_SM_CONTENT_TYPE : H_CONTENT_TYPE),
    invokedProductionVariant: header(res.headers, H_INVOKED_VARIANT),
    customAttributes: header(res.headers, H_CUSTOM_ATTRIBUTES),
    newSessionId: header(res.headers, H_NEW_SESSION_ID),
    closedSessionId: header(res.headers, H_CLOSED_SESSION_ID),
    body: res.body,
    attempts,
    latencyMs,
  };
  if (res.stream !== undefined) r.stream = res.stream;
  const requestId = header(res.headers, H_REQUEST_ID);
  if (requestId !== undefined) r.requestId = requestId;
  if (rec.meta !== undefined) r.meta = rec.meta;
  return r;
}

/** A record's result for an error (`latencyMs` undefined: nothing was sent). */
export function failed(rec: GoodRecord, error: RecordError, attempts: number, latencyMs: number | undefined): Result {
  const r: Result = { line: rec.line, ok: false, inferenceId: rec.fields.inferenceId, error, attempts };
  if (latencyMs !== undefined) r.latencyMs = latencyMs;
  if (rec.meta !== undefined) r.meta = rec.meta;
  return r;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}
