// The only network code: sends one signed request over a keep-alive agent, with timeouts and a signal.
import http from 'node:http';
import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { MAX_BODY_BYTES } from './constants.js';
import type { HttpRequestSpec } from './request.js';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface SendOptions {
  signal?: AbortSignal | undefined;
  /** Whole attempt, from start to the last body byte; 0 = none. */
  timeoutMs: number;
  /** TCP (and TLS) connect; 0 = none. */
  connectTimeoutMs: number;
}

export type Send = (request: HttpRequestSpec, options: SendOptions) => Promise<HttpResponse>;

/** A failure below HTTP: no (complete) response. `code` follows Node (ECONNRESET...) or is ours. */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(message: string, readonly code: string) {
    super(message);
  }
}

/** Responses beyond the API's 6 MiB are not InvokeEndpoint answers; don't buffer without limit. */
const MAX_RESPONSE_BYTES = MAX_BODY_BYTES + 1024 * 1024;

export interface Transport {
  send: Send;
  close(): void;
}

/**
 * Idle keep-alive sockets are closed after this long. Node lowers it to N - 1 s under a server's
 * `Keep-Alive: timeout=N` hint, but only when it is set at all: without it an idle socket is kept
 * forever and reused after the server has closed it (the next request then fails with ECONNRESET).
 */
const FREE_SOCKET_TIMEOUT_MS = 15_000;

export function createTransport(maxSockets: number): Transport {
  const opts = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' as const, timeout: FREE_SOCKET_TIMEOUT_MS };
  const agents = { 'http:': new http.Agent(opts), 'https:': new https.Agent(opts) };
  const send: Send = (req, options) =>
    new Promise<HttpResponse>((resolve, reject) => {
      const { signal } = options;
      if (signal?.aborted) {
        reject(new TransportError('request aborted', 'AbortError'));
        return;
      }
      const mod = req.protocol === 'http:' ? http : https;
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      let connectTimer: NodeJS.Timeout | undefined;
      const finish = (err: Error | undefined, res?: HttpResponse): void => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        if (connectTimer) clearTimeout(connectTimer);
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(res!);
      };
      const fail = (message: string, code: string): void => {
        const err = new TransportError(message, code);
        finish(err);
        r.destroy(err);
      };
      const onAbort = (): void => fail('request aborted', 'AbortError');

      const r = mod.request(
        {
          method: req.method,
          hostname: req.hostname,
          port: req.port,
          path: req.path,
          headers: req.headers,
          agent: agents[req.protocol],
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) {
              fail(`response body exceeds ${MAX_RESPONSE_BYTES} bytes`, 'ResponseTooLarge');
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () => {
            finish(undefined, {
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size),
            });
          });
          res.on('error', (err: NodeJS.ErrnoException) => finish(new TransportError(err.message, err.code ?? 'ECONNRESET')));
          res.on('aborted', () => finish(new TransportError('connection closed mid-response', 'ECONNRESET')));
        },
      );
      r.on('error', (err: NodeJS.ErrnoException) => finish(settled ? err : new TransportError(err.message, err.code ?? 'NetworkError')));
      if (options.timeoutMs > 0) {
        timer = setTimeout(() => fail(`no complete response within ${options.timeoutMs} ms`, 'TimeoutError'), options.timeoutMs);
      }
      if (options.connectTimeoutMs > 0) {
        r.on('socket', (socket) => {
          if (!socket.connecting) return; // a reused keep-alive socket
          connectTimer = setTimeout(() => fail(`could not connect within ${options.connectTimeoutMs} ms`, 'ConnectTimeoutError'), options.connectTimeoutMs);
          socket.once('connect', () => clearTimeout(connectTimer));
        });
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      r.end(req.body);
    });
  return {
    send,
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}
