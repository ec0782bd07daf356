// --resume: what an interrupted run left in its outfile. The outfile is only ever appended to in
// whole lines, in input order, so its complete lines are the answers to the first N records; a
// crash can leave at most one torn (newline-less) line at the end, which resume drops.
import { createReadStream, promises as fsp } from 'node:fs';
import { UsageError } from '../errors.js';
import { readFormatLine, type OutputFormat } from '../core/formats/batch-output.js';
import { readResultHead, readResultIdentity } from '../core/result-format.js';

export interface OutfileState {
  /** Bytes up to and including the last newline. */
  completeBytes: number;
  /** Bytes after it (a torn last line), dropped on resume. */
  tornBytes: number;
  /** Complete lines: answers to the first `records` input records. */
  records: number;
  /** The `line` field of the last complete result line, when it has one (--output result). */
  lastLine: number | undefined;
  /** Its `inferenceId`, when it has one. */
  lastInferenceId?: string;
  /** Its `meta`, as compact JSON, when it has one. */
  lastMeta?: string;
  /** Its batch-file record id (custom_id, recordId), when it has one. */
  lastRecordId?: string;
  /** Complete lines that answer a failed record (`"ok":false`; an empty line with --output body). */
  failed: number;
}

/**
 * What a complete outfile line says: an answer that was ok, one that failed, or (`undefined`) a line
 * sm-invoke did not write. --output body lines are response bodies: only an empty line (a failure)
 * says anything. A result line starts with its line number, the inferenceId if any, then `ok`
 * (result.ts writes them in this order and `readResultHead` reads them back).
 */
function classifyLine(line: Buffer, bodyLines: boolean, format: OutputFormat | undefined): { ok: boolean; line?: number } | undefined {
  if (bodyLines) return { ok: line.length !== 0 };
  if (format !== undefined) return readFormatLine(format, line.toString('utf8'));
  return readResultHead(line.toString('utf8'));
}

/** Scans an existing outfile in one streaming pass; undefined when it does not exist. */
// long function: one streaming pass that counts, checks and keeps the last line, over chunks of any size
export async function scanOutfile(path: string, bodyLines = false, format?: OutputFormat): Promise<OutfileState | undefined> {
  let size: number;
  try {
    const st = await fsp.stat(path);
    if (!st.isFile()) throw new UsageError(`--resume: ${path} is not a regular file`);
    size = st.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let records = 0;
  let failed = 0;
  let previousLine = 0;
  const check = (head: Buffer): void => {
    const r = classifyLine(head, bodyLines, format);
    if (r === undefined || (r.line !== undefined && r.line <= previousLine)) {
      const why =
        r === undefined
          ? `it is not an sm-invoke result line (it starts ${JSON.stringify(head.toString('utf8', 0, Math.min(head.length, 40)))})`
          : `its line number ${r.line} does not follow the line before (${previousLine})`;
      throw new UsageError(`--resume: line ${records} of ${path}: ${why}; --resume only continues an outfile that sm-invoke wrote (--force replaces the file)`);
    }
    if (r.line !== undefined) previousLine = r.line;
    if (!r.ok) failed++;
  };
  let offset = 0;
  let completeBytes = 0;
  /** Bytes of the line currently being read (since the last newline). */
  let partial: Buffer[] = [];
  let lastComplete: Buffer = Buffer.alloc(0);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    const lastNl = chunk.lastIndexOf(10);
    if (lastNl === -1) {
      partial.push(chunk);
    } else {
      let lineStart = 0;
      for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) {
        records++;
        // Only the head of a line matters: `"ok":` is within its first few hundred bytes (a batch
        // service's line says it at its end: the whole line).
        const cap = format === undefined ? 1024 : Number.MAX_SAFE_INTEGER;
        const head =
          format !== undefined
            ? lineStart === 0 && partial.length > 0
              ? Buffer.concat([...partial, chunk.subarray(0, at)])
              : chunk.subarray(lineStart, at)
            : lineStart === 0 && partial.length > 0
              ? Buffer.concat([...partial, chunk.subarray(0, Math.min(at, cap))]).subarray(0, cap)
              : chunk.subarray(lineStart, Math.min(at, lineStart + cap));
        check(head);
        lineStart = at + 1;
      }
      const prevNl = lastNl === 0 ? -1 : chunk.lastIndexOf(10, lastNl - 1);
      lastComplete = prevNl === -1 ? Buffer.concat([...partial, chunk.subarray(0, lastNl)]) : Buffer.from(chunk.subarray(prevNl + 1, lastNl));
      completeBytes = offset + lastNl + 1;
      partial = lastNl + 1 < chunk.length ? [Buffer.from(chunk.subarray(lastNl + 1))] : [];
    }
    offset += chunk.length;
  }
  if (size === 0) return { completeBytes: 0, tornBytes: 0, records: 0, lastLine: undefined, failed: 0 };
  // --output body lines are not result objects: counting lines is enough.
  if (format !== undefined) {
    const f = readFormatLine(format, lastComplete.toString('utf8'));
    return { completeBytes, tornBytes: size - completeBytes, records, lastLine: undefined, failed, ...(f ? { lastRecordId: f.recordId } : {}) };
  }
  const last = bodyLines ? undefined : readResultIdentity(lastComplete.toString('utf8'));
  const lastLine = last?.line;
  const identity: { lastInferenceId?: string; lastMeta?: string } = {};
  if (last?.inferenceId !== undefined) identity.lastInferenceId = last.inferenceId;
  if (last?.meta !== undefined) identity.lastMeta = last.meta;
  if (last?.recordId !== undefined) (identity as { lastRecordId?: string }).lastRecordId = last.recordId;
  return { completeBytes, tornBytes: size - completeBytes, records, lastLine, failed, ...identity };
}

/** Drops a torn last line so that appending continues on a line boundary. */
export async function dropTornLine(path: string, state: OutfileState): Promise<void> {
  if (state.tornBytes > 0) await fsp.truncate(path, state.completeBytes);
}
