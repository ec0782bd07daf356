// Pure: a finished record becomes its output line.
import { isUtf8 } from 'node:buffer';
import type { RecordError } from './errors.js';

export interface Result {
  line: number;
  ok: boolean;
  inferenceId?: string | undefined;
  status?: number;
  contentType?: string | undefined;
  invokedProductionVariant?: string | undefined;
  customAttributes?: string | undefined;
  newSessionId?: string | undefined;
  closedSessionId?: string | undefined;
  /** Raw response body (success only). */
  body?: Buffer;
  meta?: unknown;
  attempts?: number;
  latencyMs?: number;
  error?: RecordError;
  /** --dry-run: the request that would be sent. */
  request?: DryRunRequest;
}

export interface DryRunRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  bodyBytes: number;
  bodyPreview: string;
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)|^text\/json\s*(?:;|$)/i;
const NEWLINE = /[\n\r]/;

/** An endpoint answers with the same content type record after record: remember the last verdict. */
let lastType: string | undefined;
let lastTypeIsJson = false;

export function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  if (contentType !== lastType) {
    lastTypeIsJson = JSON_TYPE.test(contentType);
    lastType = contentType;
  }
  return lastTypeIsJson;
}

/**
 * The response body as a JSON fragment: the JSON value itself when the content type says JSON and
 * it parses, a JSON string when it is UTF-8 text, otherwise undefined (the caller uses base64).
 * Valid one-line JSON is embedded as received: no re-serialising on the hot path.
 */
export function bodyAsJson(body: Buffer, contentType: string | undefined): { json: string } | { text: string } | undefined {
  if (!isUtf8(body)) return undefined;
  const text = body.toString('utf8');
  if (isJsonContentType(contentType)) {
    const trimmed = text.trim();
    if (trimmed === '') return { text };
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      return { text };
    }
    return { json: NEWLINE.test(trimmed) ? JSON.stringify(parsed) : trimmed };
  }
  return { text };
}

// A result line starts `{"line":N,["inferenceId":"...",]"ok":true|false`: the head that --resume reads
// back without parsing the whole (maybe megabytes long) line.
const RESULT_HEAD = /^\{"line":(\d+),(?:"inferenceId":"(?:[^"\\\x00-\x1f]|\\.)*",)?"ok":(true|false)[,}]/;

/** The line number and outcome of a result line, from its first bytes; undefined for any other text. */
export function readResultHead(text: string): { line: number; ok: boolean } | undefined {
  const m = RESULT_HEAD.exec(text);
  if (m === null) return undefined;
  return { line: Number(m[1]), ok: m[2] === 'true' };
}

/** One compact JSON line (no trailing newline) for `--output result`. */
export function encodeResult(r: Result): string {
  let s = `{"line":${r.line}`;
  if (r.inferenceId !== undefined) s += `,"inferenceId":${JSON.stringify(r.inferenceId)}`;
  s += `,"ok":${r.ok}`;
  if (r.status !== undefined) s += `,"status":${r.status}`;
  if (r.contentType !== undefined) s += `,"contentType":${JSON.stringify(r.contentType)}`;
  if (r.invokedProductionVariant !== undefined) s += `,"invokedProductionVariant":${JSON.stringify(r.invokedProductionVariant)}`;
  if (r.customAttributes !== undefined) s += `,"customAttributes":${JSON.stringify(r.customAttributes)}`;
  if (r.newSessionId !== undefined) s += `,"newSessionId":${JSON.stringify(r.newSessionId)}`;
  if (r.closedSessionId !== undefined) s += `,"closedSessionId":${JSON.stringify(r.closedSessionId)}`;
  if (r.body !== undefined) {
    const b = bodyAsJson(r.body, r.contentType);
    if (b === undefined) s += `,"bodyBase64":"${r.body.toString('base64')}"`;
    else if ('json' in b) s += `,"body":${b.json}`;
    else s += `,"body":${JSON.stringify(b.text)}`;
  }
  if (r.request !== undefined) s += `,"request":${JSON.stringify(r.request)}`;
  if (r.error !== undefined) s += `,"error":${JSON.stringify(r.error)}`;
  if (r.meta !== undefined) s += `,"meta":${JSON.stringify(r.meta)}`;
  if (r.attempts !== undefined) s += `,"attempts":${r.attempts}`;
  if (r.latencyMs !== undefined) s += `,"latencyMs":${r.latencyMs}`;
  return s + '}';
}

/**
 * `--output body`: the response body alone on one line — compact JSON for JSON, otherwise the text
 * with `\` `\n` `\r` escaped as `\\` `\n` `\r` so that it stays one line (binary: base64).
 * A failed record gives an empty line (keeping line i = record i) and a message for stderr; an empty
 * successful body gives `""`, so that the two are never confused (--resume counts empty lines as failed).
 */
export function encodeBodyOnly(r: Result): { line: string; stderr?: string } {
  if (!r.ok || r.body === undefined) {
    const e = r.error;
    return { line: '', stderr: `line ${r.line}: ${e ? `${e.code}: ${e.message}` : 'failed'}` };
  }
  // An empty answer is `""`: an empty line is what a failure leaves.
  if (r.body.length === 0) return { line: '""' };
  const b = bodyAsJson(r.body, r.contentType);
  if (b === undefined) return { line: r.body.toString('base64') };
  if ('json' in b) return { line: b.json };
  return { line: b.text.replace(/[\\\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : '\\r')) };
}
