// Pure: a finished record becomes its output line.
import { isUtf8 } from 'node:buffer';
import type { RecordError } from '../errors.js';
import type { StreamStats } from '../wire.js';
import { redactKnown } from '../secrets.js';
import type { OutputFormat } from './formats/batch-output.js';
import { compactJson, scanObject } from './json-exact.js';
import type { LlmInfo } from './llm/types.js';

/** `--output result` (a JSON line per record), `--output body` (the answer's body alone), or a batch service's output line. */
export type OutputMode = 'result' | 'body' | OutputFormat;

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
  /**
   * Raw response body (success only). Written as "body" (the JSON value, a JSON string for text),
   * "bodyText" (the content type says JSON and the text is not JSON this tool passes on) or
   * "bodyBase64" (not UTF-8).
   */
  body?: Buffer;
  /** The envelope's meta, as written (compact JSON text). */
  meta?: string;
  attempts?: number;
  latencyMs?: number;
  error?: RecordError;
  /** --dry-run: the request that would be sent. */
  request?: DryRunRequest;
  /** The body is a JSON value whatever the content type says (a batch answer's element or JSON line); kept as text if it does not parse. */
  bodyJson?: boolean;
  /** Many records per request: the request's record count and this record's place in it. */
  batch?: { size: number; index: number };
  /** --stream: the first part's time from the request's start, the parts and their bytes. */
  stream?: StreamStats;
  /** --join-input: the record's body as written (JSON text), or its bytes as base64. */
  input?: string;
  inputBase64?: string;
  /** --llm: what the answer says (llm/types.ts). */
  llm?: LlmInfo;
  /** A batch file's record id (custom_id, recordId). */
  recordId?: string;
  /** --input-format bedrock-batch: the record's modelInput as written, for its output line. */
  modelInput?: string;
  /** The answer's x-amzn-RequestId (not on a result line; the OpenAI batch line's request_id). */
  requestId?: string;
}

export interface DryRunRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  bodyBytes: number;
  bodyPreview: string;
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)|^text\/json\s*(?:;|$)/i;

/** Content types whose lines are JSON values (JSON Lines), besides JSON itself. */
const JSON_LINES_TYPE = /^application\/(?:x-)?(?:jsonl|jsonlines|ndjson|json-seq|x-ndjson|x-jsonlines)\s*(?:;|$)|^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

export function isJsonLinesContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && JSON_LINES_TYPE.test(contentType);
}

/** A newline with more text after it: more than one line. */
const MANY_LINES = /\n\s*\S/;

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
 * Never re-serialised: values reach the output exactly as the endpoint wrote them.
 */
export function bodyAsJson(body: Buffer, contentType: string | undefined, json = false): { json: string } | { text: string; notJson?: true } | undefined {
  if (!isUtf8(body)) return undefined;
  const text = body.toString('utf8');
  if (!json && !isJsonContentType(contentType) && isJsonLinesContentType(contentType)) {
    // One JSON line is that JSON value, as each line of a batch's JSON Lines answer is; several
    // lines are JSON Lines text, passed on as a string.
    const compact = compactJson(text);
    if (compact.ok) return { json: compact.json };
    return MANY_LINES.test(text) ? { text } : { text, notJson: true };
  }
  if (json || isJsonContentType(contentType)) {
    // Valid JSON is embedded as received, only the whitespace between tokens dropped (a multi-line
    // answer becomes one line); numbers are never rewritten. Anything else (not JSON, a lone
    // surrogate, nesting deeper than the scanner's limit) is kept as text, marked as not JSON.
    const compact = compactJson(text);
    return compact.ok ? { json: compact.json } : { text, notJson: true };
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

/** What --resume compares of a result line with the input record it answers. */
export interface ResultIdentity {
  line?: number;
  inferenceId?: string;
  /** As written in the result line (compact JSON text). */
  meta?: string;
  /** A batch file's record id. */
  recordId?: string;
}

/** The identity of a whole result line; undefined when it is not one. */
export function readResultIdentity(text: string): ResultIdentity | undefined {
  // The result's object holds a body nested up to the limit: it is not counted.
  const scan = scanObject(text, { outer: 1 });
  if (!scan.ok) return undefined;
  const id: ResultIdentity = {};
  for (const m of scan.members) {
    if (m.key === 'line' && m.kind === 'number') id.line = Number(m.raw);
    else if (m.key === 'inferenceId' && m.kind === 'string') id.inferenceId = m.value!;
    else if (m.key === 'meta') id.meta = m.raw;
    else if (m.key === 'recordId' && m.kind === 'string') id.recordId = m.value!;
  }
  return id;
}

/** One compact JSON line (no trailing newline) for `--output result`. */
export function encodeResult(r: Result): string {
  const parts = encodeResultParts(r, Infinity);
  return typeof parts === 'string' ? parts : parts.join('');
}

/**
 * The same line, with a JSON body of `rawAbove` bytes or more that needs no change (valid, no
 * whitespace between tokens) left as its own bytes between the line's head and tail: writing it
 * as received saves two copies of a large answer (a string flattened, then encoded again).
 */
export function encodeResultParts(r: Result, rawAbove: number): string | [string, Buffer, string] {
  let s = `{"line":${r.line}`;
  if (r.inferenceId !== undefined) s += `,"inferenceId":${JSON.stringify(r.inferenceId)}`;
  s += `,"ok":${r.ok}`;
  if (r.status !== undefined) s += `,"status":${r.status}`;
  if (r.contentType !== undefined) s += `,"contentType":${JSON.stringify(r.contentType)}`;
  if (r.invokedProductionVariant !== undefined) s += `,"invokedProductionVariant":${JSON.stringify(r.invokedProductionVariant)}`;
  if (r.customAttributes !== undefined) s += `,"customAttributes":${JSON.stringify(r.customAttributes)}`;
  if (r.newSessionId !== undefined) s += `,"newSessionId":${JSON.stringify(r.newSessionId)}`;
  if (r.closedSessionId !== undefined) s += `,"closedSessionId":${JSON.stringify(r.closedSessionId)}`;
  let raw: Buffer | undefined;
  if (r.body !== undefined) {
    const b = bodyAsJson(r.body, r.contentType, r.bodyJson);
    if (b === undefined) s += `,"bodyBase64":"${r.body.toString('base64')}"`;
    else if ('json' in b) {
      if (r.body.length >= rawAbove && b.json.length === r.body.length) {
        // Same length as the bytes received: nothing was dropped, so the bytes are the JSON text.
        s += ',"body":';
        raw = r.body;
      } else s += `,"body":${b.json}`;
    } else if ('notJson' in b) {
      // Said to be JSON but is not: under its own key, so that it is never taken for a JSON string answer.
      s += `,"bodyText":${JSON.stringify(b.text)}`;
    } else s += `,"body":${JSON.stringify(b.text)}`;
  }
  let tail = '';
  if (r.request !== undefined) tail += `,"request":${JSON.stringify(r.request)}`;
  // A message may quote a secret of the run anywhere (a proxy's or a service's free text).
  if (r.error !== undefined) tail += `,"error":${redactKnown(JSON.stringify(r.error))}`;
  if (r.meta !== undefined) tail += `,"meta":${r.meta}`;
  if (r.recordId !== undefined) tail += `,"recordId":${JSON.stringify(r.recordId)}`;
  if (r.llm !== undefined) tail += `,"llm":${JSON.stringify(r.llm)}`;
  if (r.input !== undefined) tail += `,"input":${r.input}`;
  if (r.inputBase64 !== undefined) tail += `,"inputBase64":"${r.inputBase64}"`;
  if (r.batch !== undefined) tail += `,"batch":{"size":${r.batch.size},"index":${r.batch.index}}`;
  if (r.stream !== undefined) tail += `,"stream":{"firstByteMs":${r.stream.firstByteMs},"parts":${r.stream.parts},"bytes":${r.stream.bytes}}`;
  if (r.attempts !== undefined) tail += `,"attempts":${r.attempts}`;
  if (r.latencyMs !== undefined) tail += `,"latencyMs":${r.latencyMs}`;
  tail += '}';
  return raw === undefined ? s + tail : [s, raw, tail];
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
  const b = bodyAsJson(r.body, r.contentType, r.bodyJson);
  if (b === undefined) return { line: r.body.toString('base64') };
  if ('json' in b) return { line: b.json };
  return { line: b.text.replace(/[\\\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : '\\r')) };
}
