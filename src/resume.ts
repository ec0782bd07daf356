// --resume: what an interrupted run left in its outfile. The outfile is only ever appended to in
// whole lines, in input order, so its complete lines are the answers to the first N records; a
// crash can leave at most one torn (newline-less) line at the end, which resume drops.
import { createReadStream, promises as fsp } from 'node:fs';
import { UsageError } from './errors.js';

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
  /** Complete lines that answer a failed record (`"ok":false`; an empty line with --output body). */
  failed: number;
}

/**
 * Whether a result line is a failure. The first `"ok":` in a result line is always the top-level one:
 * it comes right after `line` and `inferenceId`, and a JSON string cannot hold an unescaped quote.
 */
function isFailureLine(line: Buffer, bodyLines: boolean): boolean {
  if (bodyLines) return line.length === 0; // --output body: a failed record leaves an empty line
  const at = line.indexOf('"ok":');
  return at !== -1 && line[at + 5] === 0x66; // f(alse)
}

/** Scans an existing outfile in one streaming pass; undefined when it does not exist. */
export async function scanOutfile(path: string, bodyLines = false): Promise<OutfileState | undefined> {
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
        // Only the head of a line matters: `"ok":` is within its first few hundred bytes.
        const head = lineStart === 0 && partial.length > 0
          ? Buffer.concat([...partial, chunk.subarray(0, Math.min(at, 1024))]).subarray(0, 1024)
          : chunk.subarray(lineStart, Math.min(at, lineStart + 1024));
        if (isFailureLine(head, bodyLines)) failed++;
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
  let lastLine: number | undefined;
  const identity: { lastInferenceId?: string; lastMeta?: string } = {};
  try {
    const parsed = JSON.parse(lastComplete.toString('utf8')) as { line?: unknown; inferenceId?: unknown; meta?: unknown };
    if (typeof parsed.line === 'number') lastLine = parsed.line;
    if (typeof parsed.inferenceId === 'string') identity.lastInferenceId = parsed.inferenceId;
    if (parsed.meta !== undefined) identity.lastMeta = JSON.stringify(parsed.meta);
  } catch {
    // --output body lines are not result objects: counting lines is enough.
  }
  return { completeBytes, tornBytes: size - completeBytes, records, lastLine, failed, ...identity };
}

/** Drops a torn last line so that appending continues on a line boundary. */
export async function dropTornLine(path: string, state: OutfileState): Promise<void> {
  if (state.tornBytes > 0) await fsp.truncate(path, state.completeBytes);
}
