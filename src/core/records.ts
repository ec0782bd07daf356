// Pure: an input line becomes a record (or a record error); a result becomes one output line.
import { isUtf8 } from 'node:buffer';
import { MAX_BODY_BYTES } from '../constants.js';
import type { RecordError } from '../errors.js';
import { FIELDS, FIELD_BY_KEY, checkField, preview, type FieldKey, type FieldRule, type FieldValues } from './fields.js';
import { scanObject, type JsonKind, type JsonMember } from './json-exact.js';
import { OVERFLOW_MARK } from './lines.js';
import type { Shard } from './shard.js';
import { refuseForStream } from './stream-request.js';

/** A line that is ready to send. */
export interface GoodRecord {
  line: number;
  fields: FieldValues;
  body: Buffer;
  /** The envelope's `meta` as written (compact JSON text), copied to the result untouched. */
  meta?: string;
  /** --join-input with an envelope: its `body` as written (JSON text) or its `bodyBase64`. */
  input?: { json: string } | { base64: string };
  /** Sent as InvokeEndpointWithResponseStream (--stream, or the envelope's `"stream": true`). */
  stream?: boolean;
  /** A batch file's record id (OpenAI custom_id, Bedrock recordId), for its output line. */
  recordId?: string;
  error?: undefined;
}

/** A line that cannot be sent; its result is this error. */
export interface BadRecord {
  line: number;
  error: RecordError;
  /** Known even for a bad record when the envelope parsed, so the error can be joined back. */
  inferenceId?: string;
  meta?: string;
  /** A decoded record refused later (a body the batch format cannot carry): its body and input, for --join-input. */
  body?: Buffer;
  input?: GoodRecord['input'];
  recordId?: string;
}

export type DecodedRecord = GoodRecord | BadRecord;

export interface DecodeOptions {
  envelope: boolean;
  defaults: FieldValues;
  maxLineBytes: number;
  /** --join-input: keep each envelope's body as written for its result. */
  joinInput?: boolean;
  /** --shard I/N: lines of other shards are not records of this run (shard.ts). */
  shard?: Shard | undefined;
  /** --stream: every record is streamed unless its envelope says `"stream": false`. */
  stream?: boolean;
  /** A line that is not a body nor an envelope (a batch file's line, a prompt): its own decoder. */
  custom?: ((latin1: string, line: number) => DecodedRecord) | undefined;
  /** --prompt with --envelope: the envelope's `prompt` becomes the body (llm/prompt.ts). */
  prompt?: ((prompt: string, stream: boolean) => Buffer) | undefined;
  /** Envelope keys of another operation's members (--async: core/async/fields.ts), beside FIELDS. */
  extraFields?: ReadonlyMap<string, FieldRule> | undefined;
}

const BOM = '\u00ef\u00bb\u00bf'; // EF BB BF as latin1

/** The line without the UTF-8 byte order mark that may open the input (line 1 only; latin1 text). */
export function withoutBom(raw: string, line: number): string {
  return line === 1 && raw.startsWith(BOM) ? raw.slice(3) : raw;
}
const NON_ASCII = /[\x80-\xff]/;
const BLANK = /^[ \t\r]*$/;
// A flat character class (no repeated group): a grouped pattern overflows V8's regex stack on MB-sized input.
const BASE64_CHARS = /^[A-Za-z0-9+/]*={0,2}$/;
const isBase64 = (s: string): boolean => s.length % 4 === 0 && BASE64_CHARS.test(s);

export const ENVELOPE_KEYS: readonly string[] = ['body', 'bodyBase64', 'meta', 'stream', ...FIELDS.map((f) => f.key)];

/**
 * Decodes one input line, given as latin1 text (one char per byte, see lines.ts).
 * Returns undefined for a blank line, which is not a record.
 */
export function decodeLine(raw: string, line: number, opts: DecodeOptions): DecodedRecord | undefined {
  const text = withoutBom(raw, line);
  if (text.endsWith(OVERFLOW_MARK)) {
    return bad(line, 'LineTooLong', `line is longer than the limit of ${opts.maxLineBytes} bytes (--max-line-bytes); it was skipped`);
  }
  if (BLANK.test(text)) return undefined;
  const rec = opts.envelope
    ? decodeEnvelope(text, line, opts.defaults, opts.joinInput === true, opts.stream === true, opts.prompt, opts.extraFields)
    : opts.custom
      ? opts.custom(text, line)
      : decodeBody(text, line, opts.defaults);
  if (rec.error === undefined && opts.stream === true && !opts.envelope) rec.stream = true;
  return rec.error === undefined && rec.stream === true ? refuseForStream(rec) : rec;
}

function decodeBody(text: string, line: number, defaults: FieldValues): DecodedRecord {
  if (text.length > MAX_BODY_BYTES) return bodyTooLarge(line, text.length);
  return { line, fields: defaults, body: Buffer.from(text, 'latin1') };
}

// long function: one pass over the envelope's members into a dozen locals; helpers would thread them all through
function decodeEnvelope(
  latin1: string,
  line: number,
  defaults: FieldValues,
  joinInput: boolean,
  streamDefault: boolean,
  promptBody?: (prompt: string, stream: boolean) => Buffer,
  extra?: ReadonlyMap<string, FieldRule>,
): DecodedRecord {
  let text = latin1;
  if (NON_ASCII.test(latin1)) {
    const bytes = Buffer.from(latin1, 'latin1');
    if (!isUtf8(bytes)) return bad(line, 'InvalidUtf8', 'line is not valid UTF-8 (JSON text must be UTF-8; send binary bodies as bodyBase64)');
    text = bytes.toString('utf8');
  }
  // Values are kept as written (numbers are never rewritten): body and meta go on as their own text.
  // The envelope's own object is not counted: a body or meta nested exactly the limit passes.
  const scan = scanObject(text, { outer: 1 });
  if (!scan.ok) {
    if (scan.code === 'InvalidJson') return bad(line, 'InvalidJson', `line is not valid JSON: ${scan.message}`);
    return bad(line, 'InvalidRecord', scan.message, scan.key);
  }
  const fields: FieldValues = { ...defaults };
  let problem: { field: string; message: string } | undefined;
  let body: JsonMember | undefined;
  let bodyBase64: JsonMember | undefined;
  let meta: string | undefined;
  let inferenceId: string | undefined;
  let stream = streamDefault;
  let prompt: JsonMember | undefined;

  for (const m of scan.members) {
    const key = m.key;
    if (key === 'body') body = m;
    else if (key === 'prompt' && promptBody) prompt = m;
    else if (key === 'stream') {
      const s = streamKey(m, streamDefault);
      if (typeof s === 'boolean') stream = s;
      else problem ??= s;
    } else if (key === 'bodyBase64') bodyBase64 = m;
    else if (key === 'meta') meta = m.raw;
    else {
      const rule = FIELD_BY_KEY.get(key) ?? extra?.get(key);
      if (!rule) {
        problem ??= {
          field: key.length > 60 ? `${key.slice(0, 60)}…` : key,
          message: `unknown envelope key ${preview(key, 60)}${suggest(key)}; allowed keys: ${ENVELOPE_KEYS.join(', ')}`,
        };
        continue;
      }
      if (m.kind === 'null' || m.value === '') {
        delete fields[rule.key as FieldKey]; // null or "" clears a flag's default for this record
      } else if (rule.integer !== undefined && m.kind === 'number') {
        const why = checkField(rule, m.raw);
        if (why) problem ??= { field: key, message: `${key} ${why}` };
        else fields[rule.key] = m.raw;
      } else if (m.kind !== 'string') {
        problem ??= { field: key, message: `${key} must be a string, got ${KIND_NAMES[m.kind]}` };
      } else {
        const v = m.value!;
        if (key === 'inferenceId') inferenceId = v;
        const why = checkField(rule, v);
        if (why) problem ??= { field: key, message: `${key} ${why}` };
        else fields[rule.key] = v;
      }
    }
  }
  const fail = (field: string, message: string): BadRecord => {
    const r = bad(line, 'InvalidRecord', message, field);
    if (inferenceId !== undefined) r.inferenceId = inferenceId;
    if (meta !== undefined) r.meta = meta;
    return r;
  };
  if (problem) return fail(problem.field, problem.message);

  if (promptBody) {
    // --prompt: the envelope's prompt is the request (built in the container's schema).
    if (body !== undefined || bodyBase64 !== undefined) return fail(body ? 'body' : 'bodyBase64', 'with --prompt, give a prompt (a string), not a body');
    if (prompt === undefined || prompt.kind !== 'string') {
      return fail(
        'prompt',
        `${prompt === undefined ? 'missing prompt' : `prompt must be a string, got ${KIND_NAMES[prompt.kind]}`}: with --prompt, every record needs a prompt`,
      );
    }
    body = { key: 'body', kind: 'object', raw: promptBody(prompt.value!, stream).toString('utf8') };
  }
  if (body !== undefined && bodyBase64 !== undefined) return fail('body', 'give either body or bodyBase64, not both');
  if (body === undefined && bodyBase64 === undefined && fields.inputLocation === undefined)
    return fail('body', 'missing body: give body (a JSON value or a string) or bodyBase64 (binary, base64)');
  let bytes: Buffer;
  if (bodyBase64 !== undefined) {
    const b64 = bodyBase64.value;
    if (bodyBase64.kind !== 'string' || b64 === undefined || !isBase64(b64)) {
      return fail(
        'bodyBase64',
        `bodyBase64 must be a standard base64 string (A-Z a-z 0-9 + /, padded with =), got ${b64 !== undefined ? preview(b64, 40) : KIND_NAMES[bodyBase64.kind]}`,
      );
    }
    bytes = Buffer.from(b64, 'base64');
  } else if (body === undefined) {
    bytes = Buffer.alloc(0); // --async: the input is the object at inputLocation
  } else {
    // A string body is its text; any other JSON value is sent as written (compacted).
    bytes = Buffer.from(body!.kind === 'string' ? body!.value! : body!.raw, 'utf8');
  }
  if (bytes.length > MAX_BODY_BYTES) {
    const r = bodyTooLarge(line, bytes.length);
    if (inferenceId !== undefined) r.inferenceId = inferenceId;
    if (meta !== undefined) r.meta = meta;
    return r;
  }
  if (fields.endpointName === undefined) {
    return fail('endpointName', 'no endpoint: give --endpoint-name or an endpointName in the record');
  }
  const rec: GoodRecord = { line, fields, body: bytes };
  if (stream) rec.stream = true;
  if (meta !== undefined) rec.meta = meta;
  if (joinInput && (body !== undefined || bodyBase64 !== undefined)) rec.input = bodyBase64 !== undefined ? { base64: bodyBase64.value! } : { json: body!.raw };
  return rec;
}

/** The envelope's `stream`: true or false (null: the --stream default), else the problem. */
function streamKey(m: JsonMember, streamDefault: boolean): boolean | { field: string; message: string } {
  if (m.kind === 'true' || m.kind === 'false') return m.kind === 'true';
  if (m.kind === 'null') return streamDefault;
  return { field: 'stream', message: `stream must be true or false, got ${KIND_NAMES[m.kind]}` };
}

const KIND_NAMES: Record<JsonKind, string> = {
  object: 'an object',
  array: 'an array',
  string: 'a string',
  number: 'a number',
  true: 'a boolean',
  false: 'a boolean',
  null: 'null',
};

function bad(line: number, code: string, message: string, field?: string): BadRecord {
  const error: RecordError = { code, message };
  if (field !== undefined) error.field = field;
  return { line, error };
}

function bodyTooLarge(line: number, size: number): BadRecord {
  return bad(line, 'InvalidRecord', `body is ${size} bytes; InvokeEndpoint accepts at most ${MAX_BODY_BYTES} bytes (6 MiB)`, 'body');
}

/**
 * " (did you mean "targetVariant"?)" for a key within a small edit distance of a real one. Keys much
 * longer than any real one are not compared: edit distance is quadratic.
 */
function suggest(key: string): string {
  if (key.length > 40) return '';
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
