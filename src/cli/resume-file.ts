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
  /** The failed ones by error code ("Unknown" for an empty --output body line), and their first 20 line numbers. */
  failuresByCode: Map<string, number>;
  firstFailedLines: number[];
}

/**
 * What a complete outfile line says: an answer that was ok, one that failed, or (`undefined`) a line
 * sm-invoke did not write. --output body lines are response bodies: only an empty line (a failure)
 * says anything. A result line starts with its line number, the inferenceId if any, then `ok`
 * (result.ts writes them in this order and `readResultHead` reads them back), and is one whole JSON
 * object: a line cut short (a crash, then other lines after it) is not one.
 */
function classifyLine(
  line: Buffer,
  bodyLines: boolean,
  format: OutputFormat | undefined,
): { ok: boolean; line?: number; code?: string; torn?: boolean } | undefined {
  if (bodyLines) return { ok: line.length !== 0 };
  const text = line.toString('utf8');
  // A batch service's line (it says ok at its end, so it is read whole; a line cut short is not one).
  if (format !== undefined) return readFormatLine(format, text);
  const head = readResultHead(text.slice(0, 1024));
  if (head === undefined) return undefined;
  let value: { error?: { code?: unknown } } | undefined;
  try {
    value = JSON.parse(text) as { error?: { code?: unknown } };
  } catch {
    return { ...head, torn: true };
  }
  if (head.ok) return head;
  const code = value?.error?.code;
  return typeof code === 'string' ? { ...head, code } : head;
}

/** Scans an existing outfile in one streaming pass; undefined when it does not exist. */
// long function: one streaming pass that counts, checks and keeps the last line, over chunks of any size
export async function scanOutfile(path: string, bodyLines = false, flag = 'resume', format?: OutputFormat): Promise<OutfileState | undefined> {
  let size: number;
  try {
    const st = await fsp.stat(path);
    if (!st.isFile()) throw new UsageError(`--${flag}: ${path} is not a regular file`);
    size = st.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let records = 0;
  let failed = 0;
  let previousLine = 0;
  const failuresByCode = new Map<string, number>();
  const firstFailedLines: number[] = [];
  const check = (whole: Buffer): void => {
    const r = classifyLine(whole, bodyLines, format);
    if (r === undefined || r.torn || (r.line !== undefined && r.line <= previousLine)) {
      const why =
        r === undefined
          ? `it is not an sm-invoke result line (it starts ${JSON.stringify(whole.toString('utf8', 0, Math.min(whole.length, 40)))})`
          : r.torn
            ? `it is not a whole JSON line (a result cut short, ${whole.length} bytes, with other lines after it): the file is damaged`
            : `its line number ${r.line} does not follow the line before (${previousLine})`;
      const advice = r === undefined && records === 1 ? '; if it is your input, records come from standard input: sm-invoke ... < FILE (or --input FILE)' : '';
      throw new UsageError(
        `--${flag}: line ${records} of ${path}: ${why}; --${flag} only continues an outfile that sm-invoke wrote, nothing was changed${advice}`,
      );
    }
    if (r.line !== undefined) previousLine = r.line;
    if (!r.ok) {
      failed++;
      const code = r.code ?? 'Unknown';
      failuresByCode.set(code, (failuresByCode.get(code) ?? 0) + 1);
      if (firstFailedLines.length < 20) firstFailedLines.push(r.line ?? records);
    }
  };
  let offset = 0;
  let completeBytes = 0;
  /** Bytes of the line currently being read (since the last newline). */
  let partial: Buffer[] = [];
  let lastComplete: Buffer = Buffer.alloc(0);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    const lastNl = chunk.lastIndexOf(10);
    if (lastNl === -1) {
      // (Body lines: only whether a line is empty matters; their pieces need not be kept.)
      if (!bodyLines || partial.length === 0) partial.push(chunk);
    } else {
      let lineStart = 0;
      for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) {
        records++;
        const whole = lineStart === 0 && partial.length > 0 ? Buffer.concat([...partial, chunk.subarray(0, at)]) : chunk.subarray(lineStart, at);
        check(whole);
        if (at === lastNl) lastComplete = Buffer.from(whole);
        lineStart = at + 1;
      }
      completeBytes = offset + lastNl + 1;
      partial = lastNl + 1 < chunk.length ? [Buffer.from(chunk.subarray(lastNl + 1))] : [];
    }
    offset += chunk.length;
  }
  if (size === 0) return { completeBytes: 0, tornBytes: 0, records: 0, lastLine: undefined, failed: 0, failuresByCode, firstFailedLines };
  // --output body lines are not result objects: counting lines is enough.
  if (format !== undefined) {
    const f = readFormatLine(format, lastComplete.toString('utf8'));
    return {
      completeBytes,
      tornBytes: size - completeBytes,
      records,
      lastLine: undefined,
      failed,
      failuresByCode,
      firstFailedLines,
      ...(f ? { lastRecordId: f.recordId } : {}),
    };
  }
  const last = bodyLines ? undefined : readResultIdentity(lastComplete.toString('utf8'));
  const lastLine = last?.line;
  const identity: { lastInferenceId?: string; lastMeta?: string } = {};
  if (last?.inferenceId !== undefined) identity.lastInferenceId = last.inferenceId;
  if (last?.meta !== undefined) identity.lastMeta = last.meta;
  if (last?.recordId !== undefined) (identity as { lastRecordId?: string }).lastRecordId = last.recordId;
  return { completeBytes, tornBytes: size - completeBytes, records, lastLine, failed, failuresByCode, firstFailedLines, ...identity };
}

/** Drops a torn last line so that appending continues on a line boundary. */
export async function dropTornLine(path: string, state: OutfileState): Promise<void> {
  if (state.tornBytes > 0) await fsp.truncate(path, state.completeBytes);
}
