// Run statistics in flat memory: counters plus a log-bucketed latency histogram (about 2% relative
// precision), so percentiles of a million records cost a few kilobytes.

const BUCKETS_PER_DOUBLING = 32;
const MAX_BUCKET = BUCKETS_PER_DOUBLING * 24; // up to ~16.7 million ms

export class LatencyHistogram {
  #counts = new Uint32Array(MAX_BUCKET + 1);
  #n = 0;
  #max = 0;

  add(ms: number): void {
    const v = Math.max(0, ms);
    const b = v < 1 ? 0 : Math.min(MAX_BUCKET, 1 + Math.floor(Math.log2(v) * BUCKETS_PER_DOUBLING));
    this.#counts[b]!++;
    this.#n++;
    if (v > this.#max) this.#max = v;
  }

  get count(): number {
    return this.#n;
  }

  get max(): number {
    return this.#max;
  }

  /** The q-quantile (0..1), as the upper edge of its bucket, never above the maximum seen. */
  quantile(q: number): number | undefined {
    if (this.#n === 0) return undefined;
    const rank = Math.max(1, Math.ceil(q * this.#n));
    let seen = 0;
    for (let b = 0; b <= MAX_BUCKET; b++) {
      seen += this.#counts[b]!;
      if (seen >= rank) {
        if (b === MAX_BUCKET) return this.#max;
        const upper = b === 0 ? 1 : 2 ** (b / BUCKETS_PER_DOUBLING);
        return Math.min(this.#max, Math.round(upper * 10) / 10);
      }
    }
    return this.#max;
  }
}

export interface StatsSnapshot {
  records: number;
  ok: number;
  failed: number;
  /** Records that never got an answer (run stopped early) — read but not written. */
  skipped: number;
  /** Records an earlier run had answered (--resume, --resume-failed): kept, not sent again. */
  resumed: number;
  inFlight: number;
  attempts: number;
  retries: number;
  throttles: number;
  wallMs: number;
  recordsPerSecond: number;
  concurrency?: number;
  /** Many records per request: records per request sent (split halves count as requests). */
  meanBatchSize?: number;
  /** --async: submitted, collected, failed, timed out, still pending (summary.ts AsyncCounts). */
  async?: { submitted: number; uploaded: number; collected: number; failed: number; timedOut: number; pending: number; resumed: number; s3Requests: number };
  latencyMs: { p50?: number; p90?: number; p99?: number; max?: number };
}

export function formatStats(s: StatsSnapshot): string {
  const l = s.latencyMs;
  const ms = (v: number | undefined) => (v === undefined ? '-' : `${v}ms`);
  return [
    `records: ${s.records} (${s.ok} ok, ${s.failed} failed, ${s.skipped} skipped${s.resumed > 0 ? `, ${s.resumed} answered before` : ''})`,
    `attempts: ${s.attempts} (${s.retries} retries, ${s.throttles} throttled)`,
    `time: ${(s.wallMs / 1000).toFixed(2)}s, ${s.recordsPerSecond.toFixed(1)} records/s${s.concurrency !== undefined ? `, concurrency ${s.concurrency}` : ''}`,
    `latency: p50 ${ms(l.p50)}, p90 ${ms(l.p90)}, p99 ${ms(l.p99)}, max ${ms(l.max)}`,
    ...(s.meanBatchSize !== undefined ? [`batches: ${s.meanBatchSize} records per request on average`] : []),
    ...(s.async !== undefined ? [formatAsync(s.async)] : []),
  ].join('\n');
}

function formatAsync(a: NonNullable<StatsSnapshot['async']>): string {
  const earlier = a.resumed > 0 ? `, ${a.resumed} submitted by an earlier run` : '';
  return `async: ${a.submitted} submitted (${a.uploaded} inputs uploaded${earlier}), ${a.collected} collected, ${a.failed} failed, ${a.timedOut} timed out, ${a.pending} pending; ${a.s3Requests} S3 requests`;
}

/** Records per request of a batched run, to two decimals (0 before the first request). */
export function meanBatchSize(s: { requests: number; requestRecords: number }): number {
  return s.requests === 0 ? 0 : Math.round((s.requestRecords / s.requests) * 100) / 100;
}

export interface ProgressInput {
  snapshot: StatsSnapshot;
  bytesRead?: number;
  totalBytes?: number;
}

/**
 * One status line: done, failed, retried, in flight, rate, and percent/ETA when the size is known.
 * With `width`, the line fits in it: the long labels, else short ones, else cut at the width (the
 * figures on the left, which matter most, stay).
 */
export function formatProgress({ snapshot: s, bytesRead, totalBytes }: ProgressInput, width?: number): string {
  const rate = s.recordsPerSecond.toFixed(0);
  const long = [`${s.ok + s.failed} done`, `${s.failed} failed`, `${s.retries} retried`, `${s.inFlight} in flight`, `${rate}/s`];
  const short = [`${s.ok + s.failed} done`, `${s.failed} fail`, `${s.retries} retry`, `${s.inFlight} busy`, `${rate}/s`];
  if (s.async !== undefined) {
    long.splice(3, 1, `${s.async.submitted} submitted`, `${s.async.pending} pending`, `${s.async.timedOut} timed out`);
    short.splice(3, 1, `${s.async.submitted} sub`, `${s.async.pending} pend`, `${s.async.timedOut} tmo`);
  }
  if (s.concurrency !== undefined) {
    long.push(`concurrency ${s.concurrency}`);
    short.push(`c=${s.concurrency}`);
  }
  if (bytesRead !== undefined && totalBytes !== undefined && totalBytes > 0) {
    const frac = Math.min(1, bytesRead / totalBytes);
    const pct = `${(frac * 100).toFixed(1)}%`;
    long.push(pct);
    short.push(pct);
    if (frac > 0 && frac < 1 && s.wallMs > 1000) {
      const eta = `ETA ${formatEta(Math.round((s.wallMs / frac - s.wallMs) / 1000))}`;
      long.push(eta);
      short.push(eta);
    }
  }
  const line = long.join(', ');
  if (width === undefined || line.length <= width) return line;
  // Short labels; then, narrower still, the least telling items go first (the concurrency, retries,
  // requests in flight, the rate, then the failed and done counts), so the percentage and the ETA stay.
  const brief = short.slice();
  const dropOrder = [s.concurrency !== undefined ? 5 : -1, 2, 3, 4, 1, 0].filter((i) => i >= 0);
  for (const i of [-1, ...dropOrder]) {
    if (i >= 0) brief[i] = '';
    const text = brief.filter((x) => x !== '').join(' ');
    if (text.length <= width) return text;
  }
  const rest = brief.filter((x) => x !== '').join(' ');
  return rest.slice(0, Math.max(0, width));
}

function formatEta(etaS: number): string {
  if (etaS >= 3600) return `${Math.floor(etaS / 3600)}h${String(Math.floor((etaS % 3600) / 60)).padStart(2, '0')}m`;
  if (etaS >= 60) return `${Math.floor(etaS / 60)}m${String(etaS % 60).padStart(2, '0')}s`;
  return `${etaS}s`;
}
