// Pure: an input line becomes a record (or a record error); a result becomes one output line.
import { isUtf8 } from 'node:buffer';
import { MAX_BODY_BYTES } from './constants.js';
import type { RecordError } from './errors.js';
import { FIELDS, FIELD_BY_KEY, checkField, preview, type FieldKey, type FieldValues } from './fields.js';
import { OVERFLOW_MARK } from './lines.js';

/** A line that is ready to send. */
export interface GoodRecord {
  line: number;
  fields: FieldValues;
  body: Buffer;
  /** The envelope's `meta`, copied to the result untouched. */
  meta?: unknown;
  error?: undefined;
}

/** A line that cannot be sent; its result is this error. */
export interface BadRecord {
  line: number;
  error: RecordError;
  /** Known even for a bad record when the envelope parsed, so the error can be joined back. */
  inferenceId?: string;
  meta?: unknown;
}

export type DecodedRecord = GoodRecord | BadRecord;

export interface DecodeOptions {
  envelope: boolean;
  defaults: FieldValues;
  maxLineBytes: number;
}

const BOM = '\u00ef\u00bb\u00bf'; // EF BB BF as latin1
const NON_ASCII = /[\x80-\xff]/;
const BLANK = /^[ \t\r]*$/;
// A flat character class (no repeated group): a grouped pattern overflows V8's regex stack on MB-sized input.
const BASE64_CHARS = /^[A-Za-z0-9+/]*={0,2}$/;
const isBase64 = (s: string): boolean => s.length % 4 === 0 && BASE64_CHARS.test(s);

export const ENVELOPE_KEYS: readonly string[] = ['body', 'bodyBase64', 'meta', ...FIELDS.map((f) => f.key)];

/**
 * Decodes one input line, given as latin1 text (one char per byte, see lines.ts).
 * Returns undefined for a blank line, which is not a record.
 */
export function decodeLine(raw: string, line: number, opts: DecodeOptions): DecodedRecord | undefined {
  let text = raw;
  if (line === 1 && text.startsWith(BOM)) text = text.slice(3);
  if (text.endsWith(OVERFLOW_MARK)) {
    return bad(line, 'LineTooLong', `line is longer than the limit of ${opts.maxLineBytes} bytes (--max-line-bytes); it was skipped`);
  }
  if (BLANK.test(text)) return undefined;
  return opts.envelope ? decodeEnvelope(text, line, opts.defaults) : decodeBody(text, line, opts.defaults);
}

function decodeBody(text: string, line: number, defaults: FieldValues): DecodedRecord {
  if (text.length > MAX_BODY_BYTES) return bodyTooLarge(line, text.length);
  return { line, fields: defaults, body: Buffer.from(text, 'latin1') };
}

function decodeEnvelope(latin1: string, line: number, defaults: FieldValues): DecodedRecord {
  let text = latin1;
  if (NON_ASCII.test(latin1)) {
    const bytes = Buffer.from(latin1, 'latin1');
    if (!isUtf8(bytes)) return bad(line, 'InvalidUtf8', 'line is not valid UTF-8 (JSON text must be UTF-8; send binary bodies as bodyBase64)');
    text = bytes.toString('utf8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return bad(line, 'InvalidJson', `line is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return bad(line, 'InvalidRecord', `an envelope must be a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`);
  }
  const env = value as Record<string, unknown>;
  const meta = env.meta;
  const fields: FieldValues = { ...defaults };
  let problem: { field: string; message: string } | undefined;

  for (const key of Object.keys(env)) {
    if (key === 'body' || key === 'bodyBase64' || key === 'meta') continue;
    const rule = FIELD_BY_KEY.get(key);
    if (!rule) {
      problem ??= { field: key, message: `unknown envelope key ${JSON.stringify(key)}${suggest(key)}; allowed keys: ${ENVELOPE_KEYS.join(', ')}` };
      continue;
    }
    const v = env[key];
    if (v === null || v === '') {
      delete fields[rule.key as FieldKey]; // null or "" clears a flag's default for this record
    } else if (typeof v !== 'string') {
      problem ??= { field: key, message: `${key} must be a string, got ${typeof v === 'object' ? 'an object' : typeof v}` };
    } else {
      const why = checkField(rule, v);
      if (why) problem ??= { field: key, message: `${key} ${why}` };
      else fields[rule.key] = v;
    }
  }
  const inferenceId = typeof env.inferenceId === 'string' && env.inferenceId !== '' ? env.inferenceId : undefined;
  const fail = (field: string, message: string): BadRecord => {
    const r = bad(line, 'InvalidRecord', message, field);
    if (inferenceId !== undefined) r.inferenceId = inferenceId;
    if (meta !== undefined) r.meta = meta;
    return r;
  };
  if (problem) return fail(problem.field, problem.message);

  const hasBody = 'body' in env;
  const hasB64 = 'bodyBase64' in env;
  if (hasBody && hasB64) return fail('body', 'give either body or bodyBase64, not both');
  if (!hasBody && !hasB64) return fail('body', 'missing body: give body (a JSON value or a string) or bodyBase64 (binary, base64)');
  let body: Buffer;
  if (hasB64) {
    const b64 = env.bodyBase64;
    if (typeof b64 !== 'string' || !isBase64(b64)) {
      return fail('bodyBase64', `bodyBase64 must be a standard base64 string (A-Z a-z 0-9 + /, padded with =), got ${typeof b64 === 'string' ? preview(b64, 40) : typeof b64}`);
    }
    body = Buffer.from(b64, 'base64');
  } else {
    const b = env.body;
    body = Buffer.from(typeof b === 'string' ? b : JSON.stringify(b), 'utf8');
  }
  if (body.length > MAX_BODY_BYTES) {
    const r = bodyTooLarge(line, body.length);
    if (inferenceId !== undefined) r.inferenceId = inferenceId;
    if (meta !== undefined) r.meta = meta;
    return r;
  }
  if (fields.endpointName === undefined) {
    return fail('endpointName', 'no endpoint: give --endpoint-name or an endpointName in the record');
  }
  const rec: GoodRecord = { line, fields, body };
  if (meta !== undefined) rec.meta = meta;
  return rec;
}

function bad(line: number, code: string, message: string, field?: string): BadRecord {
  const error: RecordError = { code, message };
  if (field !== undefined) error.field = field;
  return { line, error };
}

function bodyTooLarge(line: number, size: number): BadRecord {
  return bad(line, 'InvalidRecord', `body is ${size} bytes; InvokeEndpoint accepts at most ${MAX_BODY_BYTES} bytes (6 MiB)`, 'body');
}

/** " (did you mean "targetVariant"?)" for a key within a small edit distance of a real one. */
function suggest(key: string): string {
  const lower = key.toLowerCase().replace(/[-_]/g, '');
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of ENVELOPE_KEYS) {
    const d = distance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best ? ` (did you mean ${JSON.stringify(best)}?)` : '';
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}
