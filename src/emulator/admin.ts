// Unsigned admin routes for out-of-process users (e2e tests, AWS CLI tests):
//   GET  /_emulator/log     every logged request, bodies base64
//   POST /_emulator/reset   clear log, counters, attempts, sessions
//   GET  /_emulator/config  the effective config
//   POST /_emulator/config  apply a partial config (JSON), returns the result
//   GET  /_emulator/stats   request and in-flight counters
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
    default:
      return sendJson(res, 404, { message: `unknown admin route: ${route}` }, date);
  }
}
