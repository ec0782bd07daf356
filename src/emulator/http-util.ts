// Small HTTP helpers shared by the invocation and admin handlers.
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { ApiError } from './errors.js';

export interface ReceivedBody {
  /** The bytes, or empty when the body exceeded the cap (see `bytes`). */
  body: Buffer;
  bytes: number;
  sha256: string;
  /** performance.now() when the body was complete. */
  at: number;
}

/**
 * Reads the whole body, hashing as it goes and keeping at most `max` bytes.
 * Resolves undefined when the client goes away first.
 */
export function readBody(req: IncomingMessage, max: number): Promise<ReceivedBody | undefined> {
  return new Promise((resolve) => {
    const hash = createHash('sha256');
    let chunks: Buffer[] | undefined = [];
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
      if (bytes > max) chunks = undefined;
      else chunks?.push(chunk);
    });
    req.once('end', () => {
      const body = !chunks ? Buffer.alloc(0) : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      resolve({ body, bytes, sha256: hash.digest('hex'), at: performance.now() });
    });
    req.once('close', () => resolve(undefined)); // no-op if 'end' already resolved
    req.once('error', () => resolve(undefined));
  });
}

/** Lower-cased header record; repeated headers Node keeps as arrays are joined with ', '. */
export function flatHeaders(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: OutgoingHttpHeaders = {}): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': body.length });
  res.end(body);
}

export function sendApiError(res: ServerResponse, err: ApiError, base: OutgoingHttpHeaders): void {
  sendJson(res, err.status, err.body, { ...base, 'x-amzn-ErrorType': err.errorType, ...err.headers });
}

/** Resolves after `ms`, or as soon as the response closes (client gone, server closing). */
export function sleepUnlessClosed(ms: number, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      res.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    res.once('close', done);
  });
}
