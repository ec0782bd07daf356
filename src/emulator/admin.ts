// Unsigned admin routes for out-of-process users (e2e tests, AWS CLI tests):
//   GET  /_emulator/log     every logged request, bodies base64
//   POST /_emulator/reset   clear log, counters, attempts, sessions
//   GET  /_emulator/config  the effective config
//   POST /_emulator/config  apply a partial config (JSON), returns the result
//   GET  /_emulator/stats   request and in-flight counters
//   POST /_emulator/credentials  issue a temporary key (see issueCredentials)
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseConfigJson } from './config.js';
import { readBody, sendJson } from './http-util.js';
import type { Emulator, RequestLogEntry } from './server.js';

const MAX_ADMIN_BODY = 1024 * 1024;

/** A log entry as JSON: the body as base64. */
export function logEntryToJson(e: RequestLogEntry): Record<string, unknown> {
  return { ...e, body: e.body.toString('base64') };
}

export async function handleAdmin(emu: Emulator, req: IncomingMessage, res: ServerResponse, url: string): Promise<void> {
  const received = await readBody(req, MAX_ADMIN_BODY);
  if (!received) return;
  const route = `${req.method} ${url.split('?')[0]}`;
  const date = { Date: new Date().toUTCString() };
  switch (route) {
    case 'GET /_emulator/log':
      return sendJson(res, 200, emu.log.map(logEntryToJson), date);
    case 'GET /_emulator/stats':
      return sendJson(res, 200, emu.stats(), date);
    case 'GET /_emulator/config':
      return sendJson(res, 200, emu.config, date);
    case 'POST /_emulator/reset':
      emu.reset();
      return sendJson(res, 200, { ok: true }, date);
    case 'POST /_emulator/config':
      try {
        if (received.bytes > MAX_ADMIN_BODY) throw new TypeError(`config is larger than ${MAX_ADMIN_BODY} bytes`);
        emu.setConfig(parseConfigJson(received.body.toString('utf8')));
      } catch (err) {
        return sendJson(res, 400, { message: (err as Error).message }, date);
      }
      return sendJson(res, 200, emu.config, date);
    case 'POST /_emulator/credentials':
      try {
        return sendJson(res, 200, issueCredentials(emu, received.body.toString('utf8')), date);
      } catch (err) {
        return sendJson(res, 400, { message: (err as Error).message }, date);
      }
    default:
      return sendJson(res, 404, { message: `unknown admin route: ${route}` }, date);
  }
}

/**
 * Adds a new temporary key (with a session token) that the emulator accepts for `ttlMs` (default
 * 1 h) and then answers with ExpiredTokenException. The reply is credential_process output, so a
 * credential_process can be a one-line fetch of this route. Its `Expiration` is `expirationMs`
 * from now (default: ttlMs): a client's view of the expiry can differ from the server's, as when
 * a token is revoked early or a client refreshes 5 minutes ahead.
 * Body: {"ttlMs"?: number, "expirationMs"?: number}. Times follow the wall clock plus clockOffsetMs.
 */
export function issueCredentials(emu: Emulator, text: string): Record<string, unknown> {
  const input: unknown = text.trim() === '' ? {} : JSON.parse(text);
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new TypeError('body must be a JSON object');
  const o = input as Record<string, unknown>;
  const ms = (v: unknown, name: string, fallback: number): number => {
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new TypeError(`${name} must be a number >= 0`);
    return v;
  };
  const ttlMs = ms(o.ttlMs, 'ttlMs', 3_600_000);
  const expirationMs = ms(o.expirationMs, 'expirationMs', ttlMs);
  const now = Date.now() + emu.config.clockOffsetMs;
  const alnum = (n: number): string => randomBytes(n).toString('hex').toUpperCase().slice(0, n);
  const credential = {
    accessKeyId: `ASIA${alnum(16)}`,
    secretAccessKey: randomBytes(30).toString('base64'),
    sessionToken: randomBytes(48).toString('base64'),
    expiresAt: now + ttlMs,
  };
  emu.setConfig({ credentials: [...emu.config.credentials, credential] });
  return {
    Version: 1,
    AccessKeyId: credential.accessKeyId,
    SecretAccessKey: credential.secretAccessKey,
    SessionToken: credential.sessionToken,
    Expiration: new Date(now + expirationMs).toISOString(),
  };
}
