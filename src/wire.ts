// The shapes every layer passes around: an HTTP request as built, signed and sent, the answer,
// and the one error type for "no (well-formed) answer". Types only, and the error class.
import type { IncomingHttpHeaders } from 'node:http';

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
}

export interface SendOptions {
  signal?: AbortSignal | undefined;
  /** Whole attempt, from start to the last body byte; 0 = none. */
  timeoutMs: number;
  /** TCP (and TLS, and the proxy's tunnel) connect; 0 = none. */
  connectTimeoutMs: number;
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
