// Decode -> build -> sign -> send (with retries) -> encode, over the ordered bounded map.
// Everything with side effects (clock, randomness, sleep, signing, sending, writing) comes in as
// an argument, so tests drive it with the real emulator and a pinned clock.
import type { OutputMode } from './args.js';
import { FatalError, type RecordError } from './errors.js';
import { decodeLine, type DecodeOptions, type DecodedRecord, type GoodRecord } from './ndjson.js';
import { orderedMap } from './ordered-map.js';
import { buildRequest, type Target } from './request.js';
import { encodeBodyOnly, encodeResult, type Result } from './result.js';
import { CLOCK_SKEW_THRESHOLD_MS, retryAfterMs, retryDelay, serverTimeMs } from './retry.js';
import {
  classifyServiceError, classifyTransportError, isEndpointNotFound, isSignatureExpired, parseServiceError, type FailureKind,
} from './service-error.js';
import type { Sign } from './sign.js';
import { TransportError, type Send } from './transport.js';
import {
  H_CLOSED_SESSION_ID, H_CONTENT_TYPE, H_CUSTOM_ATTRIBUTES, H_INVOKED_VARIANT, H_NEW_SESSION_ID,
} from './constants.js';

export interface PipelineInit {
  /** Input lines as latin1 strings (lines.ts). */
  lines: AsyncIterable<string>;
  decode: DecodeOptions;
  concurrency: number;
  target: Target;
  sign: Sign;
  send: Send;
  /** Called once when the service says the credentials expired; should force a refresh. */
  refreshCredentials?: (() => Promise<void>) | undefined;
  output: OutputMode;
  /** Writes output text; resolves when the destination can take more. */
  write: (text: string) => Promise<void> | void;
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
}

export interface Summary {
  /** Records read (blank lines are not records). */
  records: number;
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
type Outcome = Result | typeof ABORTED;

export async function runPipeline(init: PipelineInit): Promise<Summary> {
  const now = init.now ?? Date.now;
  const random = init.random ?? Math.random;
  const sleep = init.sleep ?? abortableSleep;
  const summary: Summary = { records: 0, written: 0, ok: 0, failed: 0, attempts: 0, retries: 0, throttles: 0 };

  const stopReading = new AbortController();
  const cancel = new AbortController();
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
  /** Endpoints the service said do not exist, with the line that found out. */
  const missingEndpoints = new Map<string, number>();

  const fatal = (err: FatalError): typeof ABORTED => {
    if (!summary.fatal) {
      summary.fatal = err;
      summary.stoppedBy = 'fatal';
    }
    stopReading.abort();
    cancel.abort();
    return ABORTED;
  };

  const invoke = async (rec: DecodedRecord): Promise<Outcome> => {
    if (rec.error) {
      const r: Result = { line: rec.line, ok: false, error: rec.error };
      if (rec.inferenceId !== undefined) r.inferenceId = rec.inferenceId;
      if (rec.meta !== undefined) r.meta = rec.meta;
      return r;
    }
    const endpoint = rec.fields.endpointName!;
    const knownMissing = missingEndpoints.get(endpoint);
    if (knownMissing !== undefined) {
      return failed(rec, { code: 'ValidationError', message: `endpoint ${endpoint} was not found (see line ${knownMissing}); not sent` }, 0, undefined);
    }
    const request = buildRequest(rec, init.target);
    let attempt = 0;
    let refreshedCredentials = false;
    for (;;) {
      if (cancel.signal.aborted) return ABORTED;
      attempt++;
      summary.attempts++;
      let signed;
      try {
        signed = await init.sign(request, new Date(now() + clockOffsetMs));
      } catch (err) {
        return fatal(new FatalError(`could not get AWS credentials: ${(err as Error).message}`, 'CredentialsError',
          'check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, --profile/AWS_PROFILE and the shared credentials file'));
      }
      const started = now();
      let kind: FailureKind;
      let error: RecordError;
      let hintMs: number | undefined;
      try {
        const res = await init.send(signed, { signal: cancel.signal, timeoutMs: init.timeoutMs, connectTimeoutMs: init.connectTimeoutMs });
        const latencyMs = now() - started;
        if (res.status >= 200 && res.status < 300) {
          anySuccess = true;
          summary.ok++;
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
        const serverTime = serverTimeMs(res.headers);
        const skewed = serverTime !== undefined && Math.abs(serverTime - (now() + clockOffsetMs)) >= CLOCK_SKEW_THRESHOLD_MS;
        if (skewed && (res.status === 401 || res.status === 403 || isSignatureExpired(error))) {
          clockOffsetMs = serverTime - now();
          kind = 'transient';
        } else {
          kind = classifyServiceError(error, init.retryModelErrors);
        }
        hintMs = retryAfterMs(res.headers, now());
        if (kind === 'fatal' && /^ExpiredToken/.test(error.code) && init.refreshCredentials && !refreshedCredentials) {
          // Temporary credentials ran out: fetch new ones once for this record and try again.
          refreshedCredentials = true;
          refreshing ??= init.refreshCredentials().finally(() => { refreshing = undefined; });
          await refreshing.catch(() => undefined);
          kind = 'transient';
        } else if (kind === 'fatal' && isEndpointNotFound(error) && init.decode.defaults.endpointName !== endpoint) {
          // Only this record's own endpoint is missing: fail the records that name it, keep the rest going.
          missingEndpoints.set(endpoint, rec.line);
          kind = 'final';
        }
      } catch (err) {
        if (cancel.signal.aborted) return ABORTED;
        const code = err instanceof TransportError ? err.code : 'NetworkError';
        error = { code, message: (err as Error).message };
        kind = classifyTransportError(code);
      }
      if (kind === 'throttling') summary.throttles++;
      if (kind === 'fatal') {
        return fatal(new FatalError(`${error.code}: ${error.message}`, error.code, fatalHint(error, init.target)));
      }
      if (kind === 'final' || attempt >= init.maxAttempts) {
        if (!anySuccess && error.status === undefined && kind !== 'final') {
          return fatal(new FatalError(`cannot reach ${init.target.host}: ${error.code}: ${error.message} (after ${attempt} attempts)`,
            error.code, 'check --endpoint-url / --region and the network'));
        }
        return failed(rec, error, attempt, now() - started);
      }
      summary.retries++;
      try {
        await sleep(retryDelay(attempt - 1, kind === 'throttling', random, hintMs), cancel.signal);
      } catch {
        return ABORTED;
      }
    }
  };

  const failed = (rec: GoodRecord, error: RecordError, attempts: number, latencyMs: number | undefined): Result => {
    const r: Result = { line: rec.line, ok: false, inferenceId: rec.fields.inferenceId, error, attempts };
    if (latencyMs !== undefined) r.latencyMs = latencyMs;
    if (rec.meta !== undefined) r.meta = rec.meta;
    return r;
  };

  try {
    const source = decodeLines(init.lines, init.decode, stopReading.signal, summary);
    for await (const outcome of orderedMap(source, invoke, { concurrency: init.concurrency })) {
      if (outcome === ABORTED) break; // stop at the first record that has no real answer
      if (!outcome.ok) summary.failed++;
      if (init.output === 'body') {
        const { line, stderr } = encodeBodyOnly(outcome);
        if (stderr !== undefined) init.warn(stderr);
        await init.write(line + '\n');
      } else {
        await init.write(encodeResult(outcome) + '\n');
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

/** Lines -> records, numbering every input line; blank lines are skipped. Ends when `stop` aborts. */
async function* decodeLines(lines: AsyncIterable<string>, opts: DecodeOptions, stop: AbortSignal, summary: Summary): AsyncGenerator<DecodedRecord> {
  const it = lines[Symbol.asyncIterator]();
  const stopped = new Promise<'stop'>((resolve) => {
    if (stop.aborted) resolve('stop');
    else stop.addEventListener('abort', () => resolve('stop'), { once: true });
  });
  let lineNo = 0;
  try {
    for (;;) {
      const next = await Promise.race([it.next(), stopped]);
      if (next === 'stop' || next.done) return;
      lineNo++;
      const rec = decodeLine(next.value, lineNo, opts);
      if (rec === undefined) continue;
      summary.records++;
      yield rec;
    }
  } finally {
    void it.return?.();
  }
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

function fatalHint(e: RecordError, target: Target): string {
  if (isEndpointNotFound(e)) return `check the endpoint name and the region (requests go to ${target.host})`;
  if (e.code === 'AccessDeniedException') return 'the credentials lack sagemaker:InvokeEndpoint on this endpoint';
  if (/ExpiredToken/.test(e.code)) return 'the session token has expired: refresh your credentials';
  if (/Signature|Token|Client/.test(e.code)) return 'check the AWS access key and secret (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or --profile)';
  return 'see the message above';
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
