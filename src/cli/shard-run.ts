// --shard around one run: the sidecar checked and written before the first result, and marked
// complete (with the input's line count) when the run read its whole input and answered its shard.
import fs from 'node:fs';
import { formatShard } from '../core/shard.js';
import type { Options } from './args.js';
import { LineCount, prepareShardFile, writeShardFile } from './shard-file.js';

/** Only a regular outfile (or one still to be made) gets a sidecar: not /dev/null, a FIFO or stdout. */
function sidecarTarget(opts: Options, outPath: string | undefined): { path: string; size: number } | undefined {
  if (outPath === undefined || opts.body !== undefined) return undefined;
  try {
    const st = fs.statSync(outPath);
    return st.isFile() ? { path: outPath, size: st.size } : undefined;
  } catch {
    return { path: outPath, size: 0 };
  }
}

/** Checks and writes the sidecar; the line counter the run reads its input through (with --shard). */
export function shardSetup(opts: Options, outPath: string | undefined): LineCount | undefined {
  const target = sidecarTarget(opts, outPath);
  if (target !== undefined) {
    prepareShardFile({
      outfile: target.path,
      shard: opts.shard,
      resuming: opts.resume || opts.resumeFailed,
      output: opts.output as 'result' | 'body', // (batch-service output lines cannot be sharded: llm-args.ts)
      outfileHasResults: target.size > 0,
    });
  }
  return opts.shard !== undefined && target !== undefined ? new LineCount() : undefined;
}

/** After a run that finished its input: the sidecar records the input's lines and this shard's records. */
export function shardDone(opts: Options, outPath: string | undefined, count: LineCount, records: number): void {
  if (!count.ended || opts.shard === undefined || outPath === undefined) return;
  writeShardFile(outPath, { shard: formatShard(opts.shard), output: opts.output as 'result' | 'body', complete: { inputLines: count.lines, records } });
}
