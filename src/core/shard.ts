// --shard I/N: one process of N handles the input lines L with (L - 1) mod N == I. The others are
// read (so line numbers stay global) but not sent and not written. Pure.

export interface Shard {
  /** 0 <= index < count. */
  index: number;
  count: number;
}

/** Parses "I/N"; the message of the error says what is wrong, in the flag's words. */
export function parseShard(text: string): Shard | string {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (m === null) return `--shard must be I/N (this process's index I from 0 and the number of shards N, e.g. 0/4), got ${JSON.stringify(text)}`;
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (!Number.isSafeInteger(count) || count < 1) return `--shard ${text}: the number of shards N must be 1 or more`;
  if (!Number.isSafeInteger(index) || index >= count) return `--shard ${text}: the index I must be from 0 to ${count - 1} (N - 1)`;
  return { index, count };
}

export function formatShard(s: Shard): string {
  return `${s.index}/${s.count}`;
}

/** Whether input line `line` (1-based) belongs to `shard`. */
export function inShard(line: number, shard: Shard): boolean {
  return (line - 1) % shard.count === shard.index;
}

/** The shard a line belongs to, among `count`. */
export function shardOf(line: number, count: number): number {
  return (line - 1) % count;
}
