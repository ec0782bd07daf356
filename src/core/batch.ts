// Many records per request (SageMaker Batch Transform's MultiRecord, in a stream). Pure pieces:
// the packer that turns the record source into units (a Batch of records that share every request
// option, or a single item), the request body of a batch in its format, and the answer split back
// into one body per record. Values are kept as written (json-exact.ts); nothing is re-serialised.
import { isUtf8 } from 'node:buffer';
import type { RecordError } from '../errors.js';
import { FIELDS } from './fields.js';
import { compactJson, scanObject } from './json-exact.js';
import type { BadRecord, DecodedRecord, GoodRecord } from './records.js';
import { Kept } from './source.js';

export type BatchFormat = 'lines' | 'json';

export interface BatchOptions {
  /** Records per request at most (>= 2; 1 means no batching and no packer). */
  size: number;
  /** Request body bytes at most. */
  bytes: number;
  format: BatchFormat;
  /** json: the array goes at this dotted path of an object (`{"instances":[...]}`). */
  wrap?: readonly string[] | undefined;
  /** json: the answer's array is at this dotted path (`predictions`). */
  unwrap?: readonly string[] | undefined;
  /** A partial batch goes out when no record came for this long. */
  lingerMs: number;
  /** Halve a batch that fails with ModelError or BatchMismatch until the failing records are alone. */
  splitOnError: boolean;
}

/** Records that go out in one request; `parts` are their bodies as the batch format sends them. */
export class Batch {
  constructor(
    readonly records: readonly GoodRecord[],
    readonly parts: readonly Buffer[],
  ) {}
  /** The records' bodies: what the batch holds in memory. */
  get bytes(): number {
    let n = 0;
    for (const p of this.parts) n += p.length;
    return n;
  }
}

export type Unit = DecodedRecord | Kept | Batch;

/** A cancellable wait (the linger timer); injectable so tests decide when it fires. */
export type Timer = (ms: number) => { done: Promise<void>; cancel(): void };

export const realTimer: Timer = (ms) => {
  let t: NodeJS.Timeout | undefined;
  const done = new Promise<void>((resolve) => {
    t = setTimeout(resolve, ms);
  });
  return { done, cancel: () => clearTimeout(t) };
};

const LINGERED = Symbol('lingered');

/** Whether two records may share a request: every request option the same. */
export function sameRequestOptions(a: GoodRecord, b: GoodRecord): boolean {
  if (a.fields === b.fields) return true;
  for (const f of FIELDS) if (a.fields[f.key] !== b.fields[f.key]) return false;
  return true;
}

/** The bytes a batch's body takes besides its records' parts. */
function overhead(opts: BatchOptions, n: number): number {
  if (opts.format === 'lines') return Math.max(0, n - 1);
  let wrap = 0;
  for (const k of opts.wrap ?? []) wrap += JSON.stringify(k).length + 3; // {"k":...}
  return 2 + Math.max(0, n - 1) + wrap;
}

/**
 * A record's body as its batch format sends it, or the reason it cannot go in a batch: `json` needs
 * a JSON value (sent compact, values as written), `lines` a body without a newline.
 */
export function batchPart(rec: GoodRecord, format: BatchFormat): Buffer | RecordError {
  if (format === 'lines') {
    if (rec.body.includes(0x0a)) {
      return { code: 'InvalidRecord', message: 'body contains a newline; --batch-format lines joins bodies with newlines', field: 'body' };
    }
    return rec.body;
  }
  const text = isUtf8(rec.body) ? rec.body.toString('utf8') : undefined;
  const c = text === undefined ? undefined : compactJson(text);
  if (c === undefined || !c.ok) {
    const why = c === undefined ? 'it is not UTF-8' : c.message;
    return { code: 'InvalidRecord', message: `--batch-format json needs each body to be a JSON value: ${why}`, field: 'body' };
  }
  return c.json.length === rec.body.length ? rec.body : Buffer.from(c.json, 'utf8');
}

function badFrom(rec: GoodRecord, error: RecordError): BadRecord {
  const r: BadRecord = { line: rec.line, error };
  if (rec.fields.inferenceId !== undefined) r.inferenceId = rec.fields.inferenceId;
  if (rec.meta !== undefined) r.meta = rec.meta;
  r.body = rec.body;
  if (rec.input !== undefined) r.input = rec.input;
  return r;
}

/**
 * Records -> units. A batch closes at `size` records, before `bytes` would be exceeded, when a
 * record with other request options, a bad record or a kept line comes (so output order holds), and
 * when no record came for `lingerMs` (a slow stdin).
 */
export async function* packRecords(source: AsyncIterable<DecodedRecord | Kept>, opts: BatchOptions, timer: Timer = realTimer): AsyncGenerator<Unit> {
  const it = source[Symbol.asyncIterator]();
  let records: GoodRecord[] = [];
  let parts: Buffer[] = [];
  let partBytes = 0;
  const flush = (): Batch => {
    const b = new Batch(records, parts);
    records = [];
    parts = [];
    partBytes = 0;
    return b;
  };
  let pending: Promise<IteratorResult<DecodedRecord | Kept>> | undefined;
  try {
    for (;;) {
      pending ??= it.next();
      let r: IteratorResult<DecodedRecord | Kept>;
      if (records.length > 0) {
        const t = timer(opts.lingerMs);
        const first = await Promise.race([pending, t.done.then(() => LINGERED)]);
        t.cancel();
        if (first === LINGERED) {
          yield flush();
          continue;
        }
        r = first as IteratorResult<DecodedRecord | Kept>;
      } else r = await pending;
      pending = undefined;
      if (r.done) break;
      const item = r.value;
      // (An envelope's "stream": true: a stream answers one record, so it goes alone, unbatched.)
      if (item instanceof Kept || item.error || item.stream === true) {
        if (records.length > 0) yield flush();
        yield item;
        continue;
      }
      const part = batchPart(item, opts.format);
      if (!Buffer.isBuffer(part)) {
        if (records.length > 0) yield flush();
        yield badFrom(item, part);
        continue;
      }
      if (records.length > 0) {
        const fits = partBytes + part.length + overhead(opts, records.length + 1) <= opts.bytes;
        if (!fits || !sameRequestOptions(records[0]!, item)) yield flush();
      }
      records.push(item);
      parts.push(part);
      partBytes += part.length;
      if (records.length >= opts.size) yield flush();
    }
    if (records.length > 0) yield flush();
  } finally {
    await it.return?.();
  }
}

/** The request body of a batch: lines joined by `\n`, or a JSON array (at the wrap path). */
export function batchBody(parts: readonly Buffer[], opts: Pick<BatchOptions, 'format' | 'wrap'>): Buffer {
  const sep = Buffer.from(opts.format === 'lines' ? '\n' : ',');
  const pieces: Buffer[] = [];
  const wrap = opts.format === 'json' ? (opts.wrap ?? []) : [];
  let head = '';
  for (const k of wrap) head += `{${JSON.stringify(k)}:`;
  if (opts.format === 'json') pieces.push(Buffer.from(`${head}[`));
  parts.forEach((p, i) => {
    if (i > 0) pieces.push(sep);
    pieces.push(p);
  });
  if (opts.format === 'json') pieces.push(Buffer.from(`]${'}'.repeat(wrap.length)}`));
  return Buffer.concat(pieces);
}

/** An answer split into one body per record, or why it could not be. */
export type SplitAnswer = { ok: true; bodies: Buffer[] } | { ok: false; message: string };

/** The answer's records: its lines (a final newline allowed), or its JSON array's elements as received. */
export function splitAnswer(body: Buffer, opts: Pick<BatchOptions, 'format' | 'unwrap'>, expected: number): SplitAnswer {
  const bodies = opts.format === 'lines' ? splitLines(body) : splitJsonAnswer(body, opts.unwrap ?? []);
  if ('message' in bodies) return { ok: false, message: bodies.message };
  if (bodies.length !== expected) {
    return {
      ok: false,
      message: `the batch of ${expected} records was answered with ${bodies.length} ${opts.format === 'lines' ? 'lines' : 'array elements'}`,
    };
  }
  return { ok: true, bodies };
}

function splitLines(body: Buffer): Buffer[] {
  const end = body.length > 0 && body[body.length - 1] === 0x0a ? body.length - 1 : body.length;
  const out: Buffer[] = [];
  let start = 0;
  for (;;) {
    const nl = body.indexOf(0x0a, start);
    if (nl === -1 || nl >= end) {
      out.push(body.subarray(start, end));
      return out;
    }
    out.push(body.subarray(start, nl));
    start = nl + 1;
  }
}

function splitJsonAnswer(body: Buffer, path: readonly string[]): Buffer[] | { message: string } {
  if (!isUtf8(body)) return { message: 'the answer is not UTF-8 JSON' };
  const c = compactJson(body.toString('utf8'));
  if (!c.ok) return { message: `the answer is not JSON: ${c.message}` };
  let text = c.json;
  for (const key of path) {
    const scan = text.startsWith('{') ? scanObject(text) : undefined;
    const m = scan?.ok ? scan.members.find((x) => x.key === key) : undefined;
    if (m === undefined) return { message: `the answer has no ${JSON.stringify(path.join('.'))} (--batch-unwrap)` };
    text = m.raw;
  }
  const elements = splitCompactArray(text);
  if (elements === undefined) return { message: `the answer${path.length > 0 ? `'s ${path.join('.')}` : ''} is not a JSON array` };
  return elements.map((e) => Buffer.from(e, 'utf8'));
}

/**
 * The top-level elements of a compact JSON array (no whitespace between tokens, as compactJson
 * writes it), each exactly as written; undefined when the text is not an array.
 */
export function splitCompactArray(text: string): string[] | undefined {
  if (!text.startsWith('[') || !text.endsWith(']')) return undefined;
  if (text === '[]') return [];
  const out: string[] = [];
  let depth = 0;
  let inString = false;
  let start = 1;
  for (let i = 1; i < text.length - 1; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c)
        i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
      continue;
    }
    if (ch === 0x22) inString = true;
    else if (ch === 0x5b || ch === 0x7b) depth++;
    else if (ch === 0x5d || ch === 0x7d) depth--;
    else if (ch === 0x2c && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start, text.length - 1));
  return out;
}

/** A dotted path option (`--batch-wrap instances`, `--batch-unwrap outputs.predictions`). */
export function parsePath(text: string): string[] | undefined {
  const keys = text.split('.');
  return keys.every((k) => k !== '') ? keys : undefined;
}
