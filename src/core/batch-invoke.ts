// A batch through the invocation unit: one request whose body is the batch (batch.ts), sent by the
// invoker on a synthetic record (the first record's line and options, the joined body), its answer
// split into one result per record. A batch failing with ModelError or BatchMismatch is halved and
// both halves sent again (admission still bounds the requests) until the failing records are alone.
import type { RecordError } from '../errors.js';
import { ABORTED, type Aborted } from './invoke.js';
import { batchBody, splitAnswer, type Batch, type BatchOptions } from './batch.js';
import type { GoodRecord } from './records.js';
import { isJsonLinesContentType, type Result } from './result-format.js';
import type { Summary } from './summary.js';

/** Errors that may be one record's fault: the batch is split to find it. */
const SPLITTABLE = new Set(['ModelError', 'BatchMismatch']);

export interface BatchInvokeDeps {
  invoke: (rec: GoodRecord) => Promise<Result | Aborted>;
  opts: BatchOptions;
  summary: Summary;
}

/** One request for records [from, to) of the batch; its per-record results, split further on a record's error. */
export function createBatchInvoker(deps: BatchInvokeDeps): (batch: Batch) => Promise<Result[] | Aborted> {
  const { opts, summary } = deps;
  const run = async (batch: Batch, from: number, to: number): Promise<Result[] | Aborted> => {
    const records = batch.records.slice(from, to);
    const first = records[0]!;
    const rec: GoodRecord = { line: first.line, fields: first.fields, body: batchBody(batch.parts.slice(from, to), opts) };
    summary.requests++;
    summary.requestRecords += records.length;
    const r = await deps.invoke(rec);
    if (r === ABORTED) return ABORTED;
    let error = r.error;
    let bodies: Buffer[] | undefined;
    if (r.ok) {
      const split = splitAnswer(r.body ?? Buffer.alloc(0), opts, records.length);
      if (split.ok) bodies = split.bodies;
      else {
        summary.ok--; // the invoker counted the request as one success
        error = { code: 'BatchMismatch', message: split.message };
      }
    }
    if (bodies === undefined && opts.splitOnError && records.length > 1 && error && SPLITTABLE.has(error.code)) {
      const mid = from + Math.ceil(records.length / 2);
      const halves = await Promise.all([run(batch, from, mid), run(batch, mid, to)]);
      if (halves[0] === ABORTED || halves[1] === ABORTED) return ABORTED;
      return [...halves[0], ...halves[1]];
    }
    if (bodies !== undefined) summary.ok += records.length - 1;
    // Each answer line is JSON when the answer says JSON or JSON Lines; each array element always is.
    const json = opts.format === 'json' || isJsonLinesContentType(r.contentType);
    return records.map((x, i) => perRecord(x, r, i, records.length, bodies?.[i], error, json));
  };
  return (batch) => run(batch, 0, batch.records.length);
}

/** A record's share of the request's result: its own line, id, meta and body; the request's status, attempts and latency. */
function perRecord(rec: GoodRecord, r: Result, index: number, size: number, body: Buffer | undefined, error: RecordError | undefined, json: boolean): Result {
  const out: Result = { line: rec.line, ok: body !== undefined, inferenceId: rec.fields.inferenceId };
  if (body !== undefined) {
    out.status = r.status!;
    out.contentType = r.contentType;
    out.invokedProductionVariant = r.invokedProductionVariant;
    out.customAttributes = r.customAttributes;
    out.newSessionId = r.newSessionId;
    out.closedSessionId = r.closedSessionId;
    out.body = body;
    if (json) out.bodyJson = true;
  } else out.error = error!;
  out.batch = { size, index };
  if (rec.meta !== undefined) out.meta = rec.meta;
  if (r.attempts !== undefined) out.attempts = r.attempts;
  if (r.latencyMs !== undefined) out.latencyMs = r.latencyMs;
  return out;
}
