// `sm-invoke merge OUT...`: the outfiles of --shard runs joined into one, in input order, on stdout.
// A k-way merge by the `line` of each result line: a heap holds one current line per file, so memory
// stays the same however long the files are. Lines are copied as they are (bytes unchanged).
// Duplicates, lines of another shard, lines out of order and (when the input's line count is known)
// missing lines stop the merge with a message naming the file and the line: exit 1.
import fs, { createReadStream } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Writable } from 'node:stream';
import { UsageError } from '../errors.js';
import { readLines } from '../core/lines.js';
import { readResultHead } from '../core/result-format.js';
import { formatShard, inShard, shardOf } from '../core/shard.js';
import { MergeFileError, MergeProblem, planMerge, type MergePlan, type MergeSource } from './merge-check.js';
import { shardFilePath } from './shard-file.js';

export const MERGE_USAGE = `usage: sm-invoke merge [--lines N] [--partial] OUTFILE...

Join the outfiles of sm-invoke --shard I/N runs (--output result) into one, in input order, on
standard output. Each OUTFILE's sidecar (OUTFILE.shard.json, written by --shard) says which shard it
is; with the sidecars, mixed shard specs, a shard given twice or missing, and (when every run read its
whole input) missing results are found. Duplicates, lines out of order, lines that are not whole
JSON and a last line cut short are always found. A shard whose run did not finish (its sidecar has no
"complete") is refused, naming it and where its results stop, unless --partial is given.

options:
  --lines N     the input had N lines, none of them blank: every line 1..N must have a result
                (without sidecars, the only way to find missing results)
  --partial     merge what there is: shards whose run did not finish, and a last line cut short
                (left out), are named on stderr instead of stopping the merge
  -h, --help    show this help

exit status: 0 the files make one complete result; 1 they do not (the message names the file and
line; what was written before it is incomplete); 2 usage; 3 a file could not be read or written.
`;

export interface MergeIo {
  stdout: Writable;
  stderr: (line: string) => void;
}

interface Head {
  line: number;
  text: string;
  src: number;
}

/** One file's lines, with its position, checks and counts. */
interface Reader {
  source: MergeSource;
  it: AsyncIterator<string>;
  /** Result lines read so far, and the last one's `line`. */
  count: number;
  last: number;
}

export async function runMerge(argv: readonly string[], io: MergeIo): Promise<number> {
  let values: { lines?: string | undefined; partial?: boolean | undefined; help?: boolean | undefined };
  let files: string[];
  try {
    const p = parseArgs({
      args: [...argv],
      options: { lines: { type: 'string' }, partial: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    });
    values = p.values;
    files = p.positionals;
  } catch (err) {
    io.stderr(`merge: ${(err as Error).message.split('\n')[0]}`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(MERGE_USAGE);
    return 0;
  }
  const lines = values.lines === undefined ? undefined : /^\d+$/.test(values.lines) ? Number(values.lines) : Number.NaN;
  if (lines !== undefined && !Number.isSafeInteger(lines)) {
    io.stderr(`merge: --lines must be a whole number (the input's line count), got ${JSON.stringify(values.lines)}`);
    return 2;
  }
  if (files.length === 0) {
    io.stderr('merge: give the outfiles to merge (sm-invoke merge --help)');
    return 2;
  }
  try {
    const plan = planMerge(files, lines);
    const partial = values.partial === true;
    for (const source of plan.sources) checkFile(source, partial, io.stderr);
    await merge(plan, io.stdout);
    return 0;
  } catch (err) {
    if (err instanceof MergeProblem) {
      io.stderr(`merge: ${err.message}`);
      return 1;
    }
    if (err instanceof UsageError) {
      io.stderr(`merge: ${err.message}`);
      return 2;
    }
    io.stderr(`merge: ${describeFileError(err as NodeJS.ErrnoException)}`);
    return 3;
  }
}

function describeFileError(e: NodeJS.ErrnoException): string {
  if (e instanceof MergeFileError) return e.message;
  const why: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'it is a directory' };
  const path = (e as { path?: string }).path;
  return path !== undefined ? `cannot read ${path}: ${why[e.code ?? ''] ?? e.message}` : (e.message ?? String(e));
}

/**
 * Before anything is written: each file can be read, is a file, and ends with a whole line; a shard
 * whose run did not finish is named. With `partial`, those two are told on stderr, and a last line cut
 * short is left out (`source.end`).
 */
function checkFile(source: MergeSource, partial: boolean, say: (line: string) => void): void {
  let fd: number;
  try {
    fd = fs.openSync(source.path, 'r');
  } catch (err) {
    throw new MergeFileError(describeFileError(err as NodeJS.ErrnoException));
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) throw new MergeFileError(`cannot read ${source.path}: it is a directory`);
    const tail = readTail(fd, st.size);
    const spec = source.shard ? ` (shard ${formatShard(source.shard)})` : '';
    if (st.size > 0 && tail.torn > 0) {
      const what = `${source.path}${spec} ends with a line cut short (${tail.torn} bytes without a newline: its run was stopped while writing)`;
      if (!partial) throw new MergeProblem(`${what}; continue that run with --resume (it drops the cut line), or give --partial to leave it out`);
      say(`--partial: ${what}: left out`);
      source.end = st.size - tail.torn;
    }
    if (source.shard !== undefined && source.records === undefined) {
      const upTo = tail.lastLine === undefined ? 'it holds no result yet' : `its results stop at input line ${tail.lastLine}`;
      const what = `${source.path}${spec} is incomplete: its run did not finish (${shardFilePath(source.path)} has no "complete"); ${upTo}`;
      if (!partial) {
        throw new MergeProblem(
          `${what}, the rest of its lines are missing. Continue it (sm-invoke ... --shard ${formatShard(source.shard)} --resume ${source.path}), or give --partial to merge what there is`,
        );
      }
      say(`--partial: ${what}: the merged output lacks the rest of its lines`);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** The bytes after the last newline, and the `line` of the last whole line. */
function readTail(fd: number, size: number): { torn: number; lastLine: number | undefined } {
  const want = Math.min(size, 1 << 16);
  const buf = Buffer.alloc(want);
  const n = fs.readSync(fd, buf, 0, want, size - want);
  const text = buf.subarray(0, n);
  const lastNl = text.lastIndexOf(10);
  const torn = lastNl === -1 ? (size <= want ? size : 0) : n - lastNl - 1;
  if (lastNl === -1) return { torn, lastLine: undefined };
  const prevNl = lastNl === 0 ? -1 : text.lastIndexOf(10, lastNl - 1);
  const last = readResultHead(text.toString('utf8', prevNl + 1, Math.min(lastNl, prevNl + 1 + 1024)));
  return { torn, lastLine: last?.line };
}

async function merge(plan: MergePlan, out: Writable): Promise<void> {
  const readers: Reader[] = plan.sources.map((source) => ({
    source,
    it:
      source.end === 0
        ? (async function* (): AsyncGenerator<string> {})() // (--partial: nothing but a cut line)
        : readLines(
            createReadStream(source.path, { highWaterMark: 1 << 16, ...(source.end !== undefined ? { end: source.end - 1 } : {}) }),
            Number.MAX_SAFE_INTEGER,
          )[Symbol.asyncIterator](),
    count: 0,
    last: 0,
  }));
  const heap = new MinHeap();
  try {
    for (let i = 0; i < readers.length; i++) {
      const h = await nextHead(readers[i]!, i);
      if (h) heap.push(h);
    }
    let last: Head | undefined;
    for (let h = heap.pop(); h !== undefined; h = heap.pop()) {
      if (last !== undefined && h.line === last.line) {
        throw new MergeProblem(`line ${h.line} has a result in both ${readers[last.src]!.source.path} and ${readers[h.src]!.source.path} (duplicate)`);
      }
      if (plan.everyLine) checkNoGap(plan, last?.line ?? 0, h.line, readers.length);
      if (!out.write(Buffer.from(`${h.text}\n`, 'latin1'))) await drained(out);
      last = h;
      const next = await nextHead(readers[h.src]!, h.src);
      if (next) heap.push(next);
    }
    if (plan.everyLine) checkNoGap(plan, last?.line ?? 0, plan.inputLines! + 1, readers.length);
    for (const r of readers) checkComplete(r, plan);
  } finally {
    for (const r of readers) void r.it.return?.();
  }
}

/** The reader's next result line, checked: a result line, in order, of its own shard. */
async function nextHead(r: Reader, src: number): Promise<Head | undefined> {
  const next = await r.it.next();
  if (next.done) return undefined;
  const text = next.value;
  const at = r.count + 1;
  const head = readResultHead(text);
  if (head === undefined) {
    const starts = JSON.stringify(text.slice(0, 40));
    throw new MergeProblem(
      `${r.source.path} line ${at} is not an sm-invoke result line (it starts ${starts}); merge reads --output result files (--output body lines carry no line numbers)`,
    );
  }
  const { path, shard } = r.source;
  if (!isJson(text)) {
    throw new MergeProblem(
      `${path} line ${at} is not a whole JSON line (${text.length} bytes, starting ${JSON.stringify(text.slice(0, 40))}): the file is damaged`,
    );
  }
  if (head.line <= r.last) throw new MergeProblem(`${path} line ${at}: result for input line ${head.line} after one for line ${r.last}: not in input order`);
  if (shard !== undefined) {
    if (!inShard(head.line, shard)) {
      throw new MergeProblem(
        `${path} line ${at}: input line ${head.line} belongs to shard ${shardOf(head.line, shard.count)}/${shard.count}, not to this file's shard ${formatShard(shard)}: mixed shard specs`,
      );
    }
    const expected = r.last === 0 ? shard.index + 1 : r.last + shard.count;
    if (r.source.consecutive && head.line !== expected) {
      throw new MergeProblem(
        `${path} (shard ${formatShard(shard)}) has no result for input line ${expected} (the next one it has is line ${head.line}): missing`,
      );
    }
  }
  r.count++;
  r.last = head.line;
  return { line: head.line, text, src };
}

/** --lines without sidecars: every line from `after` + 1 to `next` - 1 is missing. */
function checkNoGap(plan: MergePlan, after: number, next: number, files: number): void {
  const n = plan.inputLines!;
  if (next > n + 1) throw new MergeProblem(`a result for input line ${next} is past the input's end (--lines ${n})`);
  if (next === after + 1) return;
  const range = next - after === 2 ? `line ${after + 1}` : `lines ${after + 1}-${next - 1}`;
  throw new MergeProblem(`no file among the ${files} given has a result for input ${range} (--lines ${n}): missing`);
}

/** A complete shard's file holds as many results as its run answered records. */
function checkComplete(r: Reader, plan: MergePlan): void {
  const { records, path, shard } = r.source;
  if (records === undefined || r.count === records) return;
  const spec = shard ? ` (shard ${formatShard(shard)})` : '';
  if (r.count > records) throw new MergeProblem(`${path}${spec} has ${r.count} results but its run answered ${records} records`);
  const where = r.source.consecutive ? `; the first one missing is for input line ${r.last === 0 ? shard!.index + 1 : r.last + shard!.count}` : '';
  throw new MergeProblem(
    `${path}${spec} has ${r.count} results but its run answered ${records} records of an input of ${plan.inputLines} lines: ${records - r.count} missing${where}`,
  );
}

/** (A latin1 string of UTF-8 bytes parses as the text would: multi-byte characters are only inside strings.) */
function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function drained(out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = (): void => {
      out.off('error', onError);
      resolve();
    };
    const onError = (e: Error): void => {
      out.off('drain', onDrain);
      reject(e);
    };
    out.once('drain', onDrain);
    out.once('error', onError);
  });
}

/** A binary min-heap of heads by line number (ties cannot stay: they are duplicates). */
class MinHeap {
  #a: Head[] = [];

  push(h: Head): void {
    const a = this.#a;
    a.push(h);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.line <= a[i]!.line) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }

  pop(): Head | undefined {
    const a = this.#a;
    const top = a[0];
    const end = a.pop();
    if (a.length > 0 && end !== undefined) {
      a[0] = end;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]!.line < a[m]!.line) m = l;
        if (r < a.length && a[r]!.line < a[m]!.line) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}
