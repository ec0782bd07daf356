// The response stream as an invocation unit (InvokeEndpointWithResponseStream): one attempt sends
// the signed request and decodes the answer's event stream as its bytes arrive (aws/event-stream.ts
// over http/stream-transport.ts), and resolves with the whole answer, its body the exact
// concatenation of the PayloadParts' bytes, so that the invoker (invoke.ts) treats it as it treats
// an InvokeEndpoint answer. What can only go wrong in a stream (an exception or error event, a
// corrupt or truncated message, a connection cut after the head, too many bytes, a stall) rejects
// with a StreamFailure that carries the parts and bytes received; the retry rules for it are
// `streamFailureKind` below (docs/streaming.md). Timers, per attempt: until the first part, --timeout
// (as for InvokeEndpoint's whole answer); then at most --stream-idle-timeout between two parts, and
// --stream-timeout for the whole stream from the request's start.
import type { IncomingHttpHeaders } from 'node:http';
import { StreamProblem, EventStreamDecoder } from '../aws/event-stream.js';
import type { FailureKind } from '../aws/service-error.js';
import type { RecordError } from '../errors.js';
import {
  StreamFailure,
  TransportError,
  type BodySink,
  type HttpRequestSpec,
  type HttpResponse,
  type SendOptions,
  type SendStream,
  type StreamControl,
} from '../wire.js';
import type { GoodRecord } from './records.js';

export { StreamFailure };

/**
 * An observer of one record's streamed answer, PayloadPart by PayloadPart, as the parts arrive
 * (issue 21's answer parsers hook in here; --body --stream writes the parts out with one).
 *
 * - `onStart(attempt)`: an attempt's 2xx head arrived and its parts follow; parts reported for an
 *   earlier attempt of the record are void (the record is sent again as a whole after a failure).
 * - `onPart(bytes, atMs)`: one part's payload bytes (a view that stays valid and unchanged: keep it
 *   or copy it) and when its last byte arrived, in ms since the attempt's request was sent: the
 *   clock of the result's `stream.firstByteMs` (the first part's `atMs`, rounded to 0.1 ms).
 *   Throwing from it fails the record (its error's code is StreamObserverError).
 * - `onEnd(ok)`: the attempt's stream ended, complete (`ok`) or failed.
 * - `resend: false`: parts given to `onPart` cannot be taken back (they went to a terminal or a
 *   pipe): a failure after the first part is then final instead of sending the record again.
 */
export interface PartObserver {
  onStart?(attempt: number): void;
  onPart(bytes: Uint8Array, atMs: number): void;
  onEnd?(ok: boolean): void;
  readonly resend?: boolean;
}

/** Gives the observer for a record (called once per attempt; may return the same one), or none. */
export type ObserverFor = (rec: GoodRecord) => PartObserver | undefined;

export interface StreamSettings {
  /** Longest pause between two parts; 0 = none. */
  idleTimeoutMs: number;
  /** The whole stream at most, from the request's start; 0 = none. */
  streamTimeoutMs: number;
  /** One stream's bytes at most (ResponseTooLarge past it). */
  maxStreamBytes: number;
}

/** Bytes of the streams being received right now: the pipeline's byte bound counts them. */
export interface StreamMemory {
  live: number;
}

export type StreamSend = (signed: HttpRequestSpec, options: SendOptions, rec: GoodRecord, attempt: number) => Promise<HttpResponse>;

export interface StreamSendDeps {
  sendStream: SendStream;
  settings: StreamSettings;
  memory: StreamMemory;
  observe?: ObserverFor | undefined;
}

const round1 = (ms: number): number => Math.round(ms * 10) / 10;

/** One attempt's stream: its counts, its parts, and the first failure seen. */
class Attempt {
  parts = 0;
  bytes = 0;
  firstAt = 0;
  headSeen = false;
  failure: StreamFailure | undefined;
  readonly chunks: Uint8Array[] = [];
  readonly control: StreamControl = {};
  readonly timers: { first?: NodeJS.Timeout; idle?: NodeJS.Timeout; total?: NodeJS.Timeout } = {};

  constructor(
    readonly t0: number,
    readonly observer: PartObserver | undefined,
  ) {}

  /** Ends the exchange with `f` (the first failure wins). */
  stop(f: StreamFailure): void {
    if (this.failure !== undefined) return;
    this.failure = f;
    this.control.stop?.(new TransportError(f.error.message, 'AbortError'));
  }

  fail(code: string, message: string, retry: StreamFailure['retry'], extra: Partial<RecordError> = {}): StreamFailure {
    const got = this.parts === 0 ? 'before the first part' : `after ${this.parts} part${this.parts === 1 ? '' : 's'} (${this.bytes} bytes)`;
    let r = retry;
    let text = `${message} (${got})`;
    if (r !== 'final' && this.parts > 0 && this.observer?.resend === false) {
      r = 'final';
      text += '; not sent again: its parts were already written out';
    }
    return new StreamFailure({ code, message: text, ...extra, parts: this.parts, bytes: this.bytes }, r);
  }

  clearTimers(): void {
    clearTimeout(this.timers.first);
    clearTimeout(this.timers.idle);
    clearTimeout(this.timers.total);
  }
}

export function createStreamSend(deps: StreamSendDeps): StreamSend {
  const { settings, memory } = deps;

  /** The part callback: counts, the byte cap, the timers, the observer. */
  const onPart = (a: Attempt, counted: { bytes: number }) => (bytes: Uint8Array, at: number) => {
    if (a.failure !== undefined) return;
    a.parts++;
    a.bytes += bytes.length;
    memory.live += bytes.length;
    counted.bytes += bytes.length;
    if (a.bytes > settings.maxStreamBytes) {
      a.stop(a.fail('ResponseTooLarge', `the stream is larger than ${settings.maxStreamBytes} bytes (--max-stream-mib)`, 'final'));
      return;
    }
    if (a.parts === 1) {
      a.firstAt = at;
      clearTimeout(a.timers.first);
    }
    if (settings.idleTimeoutMs > 0) {
      // One timer per attempt, pushed back by each part (refresh() costs less than a new timer).
      if (a.timers.idle !== undefined) a.timers.idle.refresh();
      else {
        a.timers.idle = setTimeout(
          () => a.stop(a.fail('StreamIdleTimeout', `no part for ${settings.idleTimeoutMs} ms (--stream-idle-timeout)`, 'transient')),
          settings.idleTimeoutMs,
        );
      }
    }
    a.chunks.push(bytes);
    try {
      a.observer?.onPart(bytes, at - a.t0);
    } catch (err) {
      a.stop(a.fail('StreamObserverError', `the part observer failed: ${(err as Error).message}`, 'final'));
    }
  };

  const startTimers = (a: Attempt, timeoutMs: number): void => {
    if (timeoutMs > 0) {
      a.timers.first = setTimeout(() => a.stop(a.fail('TimeoutError', `no part within ${timeoutMs} ms (--timeout)`, 'transient')), timeoutMs);
    }
    if (settings.streamTimeoutMs > 0) {
      a.timers.total = setTimeout(
        () => a.stop(a.fail('StreamTimeout', `the stream did not end within ${settings.streamTimeoutMs} ms (--stream-timeout)`, 'final')),
        settings.streamTimeoutMs,
      );
    }
  };

  return async (signed, options, rec, attempt) => {
    const a = new Attempt(performance.now(), deps.observe?.(rec));
    const counted = { bytes: 0 };
    const decoder = new EventStreamDecoder(onPart(a, counted));
    decoder.done.catch((err: unknown) => a.stop(problemFailure(a, err)));
    const outer = options.signal;
    startTimers(a, options.timeoutMs);
    const open = (_status: number, _headers: IncomingHttpHeaders): BodySink => {
      a.headSeen = true;
      a.observer?.onStart?.(attempt);
      return { chunk: (bytes, at) => decoder.push(bytes, at) };
    };
    try {
      const res = await deps.sendStream(signed, { signal: outer, timeoutMs: 0, connectTimeoutMs: options.connectTimeoutMs }, open, a.control);
      if (res.status < 200 || res.status >= 300) return res;
      await decoder.end().catch(() => undefined);
      if (a.failure !== undefined) throw a.failure;
      a.observer?.onEnd?.(true);
      const body = a.chunks.length === 1 ? Buffer.from(a.chunks[0]!) : Buffer.concat(a.chunks, a.bytes);
      return {
        status: res.status,
        headers: res.headers,
        body,
        stream: { firstByteMs: a.parts > 0 ? round1(a.firstAt - a.t0) : null, parts: a.parts, bytes: a.bytes },
      };
    } catch (err) {
      decoder.stop();
      if (a.headSeen) a.observer?.onEnd?.(false);
      throw failureOf(a, err, outer);
    } finally {
      a.clearTimers();
      memory.live -= counted.bytes;
    }
  };
}

/** What an attempt that threw failed with: our own stop, the run's cancel, a cut, or a failure before the head. */
function failureOf(a: Attempt, err: unknown, outer: AbortSignal | undefined): Error {
  if (outer?.aborted) return err as Error; // the run is stopping: the invoker's own path
  if (a.failure !== undefined) {
    // A timer that fired before the head is today's whole-attempt timeout.
    if (!a.headSeen && a.failure.error.code === 'TimeoutError') return new TransportError(a.failure.error.message, 'TimeoutError');
    return a.failure;
  }
  if (!a.headSeen || !(err instanceof TransportError)) return err as Error;
  return a.fail('StreamCut', `the connection was lost mid-stream (${err.code}: ${err.message})`, 'transient');
}

/** A StreamProblem from the decoder as the record's failure. */
function problemFailure(a: Attempt, err: unknown): StreamFailure {
  if (!(err instanceof StreamProblem)) return a.fail('InvalidStreamMessage', String((err as Error)?.message ?? err), 'final');
  switch (err.kind) {
    case 'exception': {
      const extra = err.errorCode !== undefined ? { errorCode: err.errorCode } : {};
      const retry = err.code === 'ModelStreamError' ? 'model' : err.code === 'InternalStreamFailure' ? 'transient' : 'final';
      return a.fail(err.code, err.message, retry, extra);
    }
    case 'error':
      return a.fail(err.code, err.message, 'final');
    case 'crc':
      return a.fail('StreamChecksumMismatch', `a corrupt event-stream message (${err.message})`, 'transient');
    case 'truncated':
      return a.fail('StreamTruncated', 'the stream ended inside a message', 'transient');
    default:
      return a.fail('InvalidStreamMessage', `not an InvokeEndpointWithResponseStream event: ${err.message}`, 'final');
  }
}

/** The retry rules' class of a stream failure (docs/streaming.md). */
export function streamFailureKind(f: StreamFailure, retryModelErrors: boolean): FailureKind {
  if (f.retry === 'transient') return 'transient';
  if (f.retry === 'model') return retryModelErrors ? 'transient' : 'final';
  return 'final';
}
