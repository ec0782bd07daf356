// The shard sidecar: `OUTFILE.shard.json`, written next to an outfile made with --shard. It says
// which shard the outfile answers (so --resume refuses an outfile of another shard spec, and the
// merge can tell mixed specs apart) and, once the run has read its whole input, how many input
// lines there were and how many records this shard answered (so the merge can find gaps).
// The result lines themselves are not changed.
import fs from 'node:fs';
import { UsageError } from '../errors.js';
import { formatShard, type Shard } from '../core/shard.js';

export const SHARD_FILE_SUFFIX = '.shard.json';

export interface ShardFile {
  /** "I/N". */
  shard: string;
  output: 'result' | 'body';
  /** Set when the run read its whole input and wrote a result for every record of its shard. */
  complete?: {
    /** Lines of the whole input (every shard's, blank ones included). */
    inputLines: number;
    /** Records (non-blank lines) of this shard: the result lines its outfile holds. */
    records: number;
  };
}

export function shardFilePath(outfile: string): string {
  return outfile + SHARD_FILE_SUFFIX;
}

/** The sidecar next to `outfile`; undefined when there is none; a UsageError when it is not one. */
export function readShardFile(outfile: string): ShardFile | undefined {
  const path = shardFilePath(outfile);
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`cannot read ${path}: ${(err as Error).message}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    v = undefined;
  }
  const f = v as Partial<ShardFile> | undefined;
  if (typeof f !== 'object' || f === null || typeof f.shard !== 'string' || !/^\d+\/\d+$/.test(f.shard) || (f.output !== 'result' && f.output !== 'body')) {
    throw new UsageError(`${path} is not an sm-invoke shard file (expected {"shard":"I/N","output":...})`);
  }
  const c = f.complete;
  if (c !== undefined && !(Number.isSafeInteger(c.inputLines) && Number.isSafeInteger(c.records))) {
    throw new UsageError(`${path}: "complete" must hold whole numbers inputLines and records`);
  }
  return f as ShardFile;
}

/** Writes the sidecar atomically (a temporary file renamed over it). */
export function writeShardFile(outfile: string, f: ShardFile): void {
  const path = shardFilePath(outfile);
  const tmp = `${path}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(f) + '\n');
  fs.renameSync(tmp, path);
}

/**
 * Before anything is written: with --resume, the outfile's sidecar must name the same shard spec (and
 * there must be none without --shard); a new outfile gets a new sidecar (or loses a stale one).
 */
export function prepareShardFile(opts: {
  outfile: string;
  shard: Shard | undefined;
  resuming: boolean;
  output: 'result' | 'body';
  outfileHasResults: boolean;
}): void {
  const { outfile, shard, resuming } = opts;
  const spec = shard === undefined ? undefined : formatShard(shard);
  const existing = readShardFile(outfile);
  if (resuming && opts.outfileHasResults) {
    if (spec === undefined && existing !== undefined) {
      throw new UsageError(`--resume: ${outfile} was made with --shard ${existing.shard} (${shardFilePath(outfile)}): give the same --shard ${existing.shard}`);
    }
    if (spec !== undefined && existing === undefined) {
      throw new UsageError(
        `--resume: ${outfile} was not made with --shard (there is no ${shardFilePath(outfile)}): it holds results of another run, not of shard ${spec}`,
      );
    }
    if (spec !== undefined && existing !== undefined && existing.shard !== spec) {
      throw new UsageError(`--resume: ${outfile} holds the results of --shard ${existing.shard}, not of --shard ${spec}: nothing was changed`);
    }
  }
  if (spec === undefined) {
    if (existing !== undefined && !resuming) fs.rmSync(shardFilePath(outfile), { force: true });
    return;
  }
  writeShardFile(outfile, { shard: spec, output: opts.output });
}

/** The lines an input of `inputLines` lines has in `shard`. */
export function linesOfShard(inputLines: number, shard: Shard): number {
  return inputLines > shard.index ? Math.floor((inputLines - 1 - shard.index) / shard.count) + 1 : 0;
}

/** Counts the input's lines as they are read, and whether it was read to its end. */
export class LineCount {
  lines = 0;
  ended = false;

  async *count(lines: AsyncIterable<string>): AsyncGenerator<string> {
    for await (const line of lines) {
      this.lines++;
      yield line;
    }
    this.ended = true;
  }
}
