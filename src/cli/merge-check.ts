// What `sm-invoke merge` knows before reading a line: each file's shard spec from its sidecar
// (shard-file.ts), checked across files (one spec, each shard once, all shards there, one input),
// and which lines must be there (gap detection). Pure apart from reading the sidecars.
import { formatShard, type Shard } from '../core/shard.js';
import { linesOfShard, readShardFile, shardFilePath } from './shard-file.js';

/** A problem that makes the files not one complete result: exit 1, with this message. */
export class MergeProblem extends Error {
  override readonly name = 'MergeProblem';
}

export interface MergeSource {
  path: string;
  /** From its sidecar, when it has one. */
  shard?: Shard;
  /** Its sidecar's count of result lines, when its run completed. */
  records?: number;
  /**
   * Every line of its shard is a record (no blank lines): each of its lines follows the one before by
   * exactly N, so a missing one can be named.
   */
  consecutive: boolean;
  /** --partial: read only up to here (a last line cut short is left out). */
  end?: number;
}

export interface MergePlan {
  sources: MergeSource[];
  /** Lines of the whole input, when known (--lines, or the sidecars of complete runs). */
  inputLines: number | undefined;
  /** Every line 1..inputLines must be there (--lines without sidecars: an input with no blank lines). */
  everyLine: boolean;
}

/** A file that cannot be read: exit 3 with its name and why (never a stack trace). */
export class MergeFileError extends Error {
  override readonly name = 'MergeFileError';
}

function shardOfFile(path: string): { shard?: Shard; records?: number; inputLines?: number } {
  let f: ReturnType<typeof readShardFile>;
  try {
    f = readShardFile(path);
  } catch (err) {
    // A sidecar that cannot be read is a file problem (exit 3); one that is not a sidecar stays a usage error.
    if (/^cannot read /.test((err as Error).message)) throw new MergeFileError((err as Error).message);
    throw err;
  }
  if (f === undefined) return {};
  if (f.output !== 'result') {
    throw new MergeProblem(
      `${path} was written with --output body (${shardFilePath(path)}): body lines carry no line numbers, so shards cannot be merged; run the shards with --output result`,
    );
  }
  const [index, count] = f.shard.split('/').map(Number) as [number, number];
  const shard = { index, count };
  return f.complete ? { shard, records: f.complete.records, inputLines: f.complete.inputLines } : { shard };
}

/** Reads the sidecars and checks that the files are the shards of one spec and one input. */
export function planMerge(paths: readonly string[], lines: number | undefined): MergePlan {
  const infos = paths.map((path) => ({ path, ...shardOfFile(path) }));
  const withShard = infos.filter((i) => i.shard !== undefined);
  let inputLines = lines;
  if (withShard.length > 0) {
    if (withShard.length < infos.length) {
      const without = infos.find((i) => i.shard === undefined)!;
      throw new MergeProblem(
        `${without.path} has no shard file (${shardFilePath(without.path)}) but ${withShard[0]!.path} is shard ${formatShard(withShard[0]!.shard!)}: mixed outputs`,
      );
    }
    checkSpecs(withShard as Array<{ path: string; shard: Shard }>);
    for (const i of withShard) {
      if (i.inputLines === undefined) continue;
      if (inputLines !== undefined && inputLines !== i.inputLines) {
        const why = lines !== undefined ? `--lines ${lines}` : 'the other shards';
        throw new MergeProblem(`${i.path}: its run read an input of ${i.inputLines} lines, not ${inputLines} (${why}): not the same input`);
      }
      inputLines = i.inputLines;
    }
  }
  const sources = infos.map((i): MergeSource => {
    const s: MergeSource = { path: i.path, consecutive: false };
    if (i.shard) s.shard = i.shard;
    if (i.records !== undefined) s.records = i.records;
    // A complete shard whose every line was a record: its lines are I+1, I+1+N, ... with none left out.
    if (i.shard && i.records !== undefined && i.inputLines !== undefined) s.consecutive = linesOfShard(i.inputLines, i.shard) === i.records;
    return s;
  });
  return { sources, inputLines, everyLine: lines !== undefined && withShard.length === 0 };
}

/** One N, each index once, all N there. */
function checkSpecs(files: ReadonlyArray<{ path: string; shard: Shard }>): void {
  const first = files[0]!;
  const byIndex = new Map<number, string>();
  for (const f of files) {
    if (f.shard.count !== first.shard.count) {
      throw new MergeProblem(
        `mixed shard specs: ${first.path} is shard ${formatShard(first.shard)} but ${f.path} is shard ${formatShard(f.shard)}: their lines overlap; merge the outputs of one --shard I/N run`,
      );
    }
    const other = byIndex.get(f.shard.index);
    if (other !== undefined) throw new MergeProblem(`${other} and ${f.path} are both shard ${formatShard(f.shard)}: every line of that shard would be twice`);
    byIndex.set(f.shard.index, f.path);
  }
  for (let i = 0; i < first.shard.count; i++) {
    if (!byIndex.has(i))
      throw new MergeProblem(`no file for shard ${i}/${first.shard.count}: its lines would be missing (files given: ${files.map((f) => f.path).join(' ')})`);
  }
}
