// The shapes every layer passes around: an HTTP request as built, signed and sent, the answer,
// and the one error type for "no (well-formed) answer". Types only, and the error class.
import type { IncomingHttpHeaders } from 'node:http';
import type { RecordError } from './errors.js';

export interface HttpRequestSpec {
  method: string;
  protocol: 'https:' | 'http:';
  hostname: string;
  port: number | undefined;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** A streamed answer (InvokeEndpointWithResponseStream): `body` is its parts' bytes, concatenated. */
  stream?: StreamStats;
}

/** What a result line says of a streamed answer. */
export interface StreamStats {
  /** From sending the request to the first PayloadPart (ms, 0.1 ms steps); null for a stream without parts. */
  firstByteMs: number | null;
  parts: number;
  /** The parts' bytes (the body's length). */
  bytes: number;
}

/**
 * The streaming exchange's receiver of a 2xx answer's body: the raw bytes as they arrive, on
 * the stream clock (performance.now()). A TransportError thrown from `chunk` fails the exchange.
 */
export interface BodySink {
  chunk(bytes: Buffer, at: number): void;
}

/**
 * Sends one request whose 2xx answer is a stream: `open` is called with the head of a 2xx answer
 * and gives the sink for its body (a non-2xx answer is buffered as `Send` buffers it). Resolves
 * when the body has ended (`body` empty for a 2xx answer), rejects with a TransportError.
 */
export type SendStream = (
  request: HttpRequestSpec,
  options: SendOptions,
  open: (status: number, headers: IncomingHttpHeaders) => BodySink,
  control: StreamControl,
) => Promise<HttpResponse>;

/** Filled in by the exchange when it starts: `stop(err)` ends it now with `err` (cheaper than a signal per attempt). */
export interface StreamControl {
  stop?: (err: TransportError) => void;
}

export interface SendOptions {
  signal?: AbortSignal | undefined;
  /** Whole attempt, from start to the last body byte; 0 = none. */
  timeoutMs: number;
  /** TCP (and TLS, and the proxy's tunnel) connect; 0 = none. */
  connectTimeoutMs: number;
  /** The run's memory for answers (core/answer-budget.ts): an answer is read only while it has room. */
  budget?: BodyBudget | undefined;
  /** The record (its input line) the request is for, as `budget` knows it. */
  line?: number | undefined;
}

/**
 * Memory shared by the answers being received and the results waiting to be written. The
 * transport counts an answer's bytes as it reads them (all of them at its head when it gives a
 * Content-Length) and stops reading while there is no room; the oldest record's answer (the one
 * the ordered output waits for) always has room, so a full budget never stalls the run.
 */
export interface BodyBudget {
  /** Is there room for `n` more bytes of the answer to the record at `line`? */
  room(line: number, n: number): boolean;
  /** Counts `n` bytes (negative: gives them back). */
  add(n: number): void;
  /** Calls `resume` once, later, when there may be room again. */
  wait(resume: () => void): void;
}

/** Sends one request and resolves with the whole answer, or rejects with a TransportError. */
export type Send = (request: HttpRequestSpec, options: SendOptions) => Promise<HttpResponse>;

/**
 * A failure below HTTP: no (complete, well-formed) response. `code` is Node's (ECONNRESET,
 * ECONNREFUSED, certificate codes), undici's (UND_ERR_*, HPE_* from llhttp) or ours (TimeoutError,
 * AbortError, ResponseTooLarge, ProxyUnreachable, ProxyAuthRequired, ProxyRefused).
 */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/**
 * A streamed answer that failed after its 2xx head: an exception or error event, a corrupt or
 * truncated message, a cut connection, a timeout, too many bytes. `error` is the record's error
 * (with the parts and bytes received); `retry` is what the retry rules make of it
 * (docs/streaming.md): 'transient' sends the record again, 'model' only with --retry-model-errors.
 */
export class StreamFailure extends TransportError {
  constructor(
    readonly error: RecordError,
    readonly retry: 'transient' | 'model' | 'final',
  ) {
    super(error.message, error.code);
  }
}
