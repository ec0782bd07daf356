// "Did you mean": an unknown option against sm-invoke's own options and the names the same thing
// has in the AWS CLI and GNU parallel (or xargs), and against typos by edit distance. Pure.

/** Options of other tools that sm-invoke has under another name: what to write instead, and why. */
export const ALIASES: Readonly<Record<string, { use: string; note: string }>> = {
  '--endpoint': { use: '--endpoint-name NAME (the endpoint) or --endpoint-url URL (where to send)', note: '' },
  '--cli-read-timeout': { use: '--timeout', note: "the AWS CLI's --cli-read-timeout; seconds, 0 = none" },
  '--cli-connect-timeout': { use: '--connect-timeout', note: "the AWS CLI's --cli-connect-timeout; seconds, 0 = none" },
  '--cli-binary-format': { use: '--body', note: 'sm-invoke always sends --body as it is (raw), never base64-decoded: leave the option out' },
  '--jobs': { use: '--concurrency', note: "GNU parallel's --jobs: requests in flight, or auto" },
  '-j': { use: '--concurrency', note: "GNU parallel's -j: requests in flight, or auto" },
  '-P': { use: '--concurrency', note: "xargs' -P: requests in flight, or auto" },
  '--max-procs': { use: '--concurrency', note: "xargs' --max-procs: requests in flight, or auto" },
  '--retries': { use: '--max-attempts', note: 'attempts per record, the first one included: --retries 2 is --max-attempts 3' },
  '--max-retries': { use: '--max-attempts', note: 'attempts per record, the first one included: 2 retries is --max-attempts 3' },
  '--halt': { use: '--max-errors N', note: "GNU parallel's --halt soon,fail=N: stop after N failed records" },
  '--eta': { use: '--progress', note: 'a status line with percent and ETA when stdin is a file' },
  '--bar': { use: '--progress', note: 'a status line with percent and ETA when stdin is a file' },
  '--joblog': { use: '--stats-json FILE', note: 'a JSON summary of the run; per-record results are the output lines' },
  '--batch': { use: '--batch-size N', note: 'records per request; --batch-format lines|json says how they share a body' },
  '--batch-mode': { use: '--batch-size N', note: 'records per request; --batch-format lines|json says how they share a body' },
  '--body-file': { use: '--body file://PATH', note: 'or fileb://PATH for bytes, as in the AWS CLI' },
};

/** Levenshtein distance, for short strings. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * What to say about an unknown option (as written, `--name` or `-x`, without `=value`), given the
 * real long option names (without `--`). Undefined: nothing close.
 */
export function suggestOption(given: string, known: readonly string[]): string | undefined {
  const alias = ALIASES[given] ?? ALIASES[given.toLowerCase()];
  if (alias !== undefined) return `did you mean ${alias.use}?${alias.note ? ` (${alias.note})` : ''}`;
  if (!given.startsWith('--')) return undefined;
  const name = given.slice(2).toLowerCase().replace(/_/g, '-');
  if (known.includes(name)) return `did you mean --${name}?`;
  // The closest real option, when the distance is small for its length (one edit for short names).
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  if (best !== undefined && bestDistance <= (name.length <= 5 ? 1 : 2)) return `did you mean --${best}?`;
  // A prefix of one real option (--envelop, --max-buf).
  const prefixed = known.filter((k) => name.length >= 3 && k.startsWith(name));
  return prefixed.length === 1 ? `did you mean --${prefixed[0]}?` : undefined;
}
