// stats.ts: percentiles within the histogram's precision, in flat memory; the text formats.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatencyHistogram, formatProgress, formatStats, type StatsSnapshot } from '../../../src/core/stats.js';

test('quantiles within ~2.5% of the exact value', () => {
  const h = new LatencyHistogram();
  const values: number[] = [];
  let s = 7;
  for (let i = 0; i < 100_000; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const v = 5 + (s % 10_000) / 10; // 5..1005 ms
    values.push(v);
    h.add(v);
  }
  values.sort((a, b) => a - b);
  for (const q of [0.5, 0.9, 0.99]) {
    const exact = values[Math.ceil(q * values.length) - 1]!;
    const got = h.quantile(q)!;
    assert.ok(Math.abs(got - exact) / exact < 0.025, `q${q}: got ${got}, exact ${exact}`);
  }
  assert.equal(h.max, values[values.length - 1]);
  assert.equal(h.count, 100_000);
});

test('edge values: empty, sub-millisecond, huge, never above the max', () => {
  const h = new LatencyHistogram();
  assert.equal(h.quantile(0.5), undefined);
  h.add(0);
  h.add(0.4);
  assert.equal(h.quantile(0.99), 0.4);
  h.add(1e9);
  assert.equal(h.quantile(1), 1e9);
});

const snap: StatsSnapshot = {
  records: 10,
  ok: 7,
  failed: 2,
  skipped: 1,
  resumed: 0,
  inFlight: 3,
  attempts: 14,
  retries: 4,
  throttles: 2,
  wallMs: 2500,
  recordsPerSecond: 3.6,
  latencyMs: { p50: 12, p90: 40.5, p99: 99, max: 120 },
};

test('stats text', () => {
  assert.equal(
    formatStats(snap),
    [
      'records: 10 (7 ok, 2 failed, 1 skipped)',
      'attempts: 14 (4 retries, 2 throttled)',
      'time: 2.50s, 3.6 records/s',
      'latency: p50 12ms, p90 40.5ms, p99 99ms, max 120ms',
    ].join('\n'),
  );
  assert.match(formatStats({ ...snap, records: 110, resumed: 100 }), /^records: 110 \(7 ok, 2 failed, 1 skipped, 100 answered before\)\n/);
});

test('progress line with and without a known input size', () => {
  assert.equal(formatProgress({ snapshot: snap }), '9 done, 2 failed, 4 retried, 3 in flight, 4/s');
  assert.equal(
    formatProgress({ snapshot: { ...snap, concurrency: 12 }, bytesRead: 250, totalBytes: 1000 }),
    '9 done, 2 failed, 4 retried, 3 in flight, 4/s, concurrency 12, 25.0%, ETA 8s',
  );
  assert.match(formatProgress({ snapshot: { ...snap, wallMs: 600_000 }, bytesRead: 100, totalBytes: 1000 }), /ETA 1h30m$/);
});

test('progress line fitted to a width: long labels, else short ones, else the least telling items dropped, never the ETA', () => {
  const big = { ...snap, ok: 123_456, failed: 7_890, retries: 4_321, inFlight: 256, recordsPerSecond: 4_567, concurrency: 256, wallMs: 60_000 };
  const input = { snapshot: big, bytesRead: 400, totalBytes: 1000 };
  const long = formatProgress(input);
  assert.ok(long.length > 80, long);
  assert.equal(formatProgress(input, 200), long);
  const short = formatProgress(input, 79);
  assert.equal(short, '131346 done 7890 fail 4321 retry 256 busy 4567/s c=256 40.0% ETA 1m30s');
  // 50 columns (49 usable): concurrency, retries, in flight go; done, failed, the rate, %, ETA stay.
  assert.equal(formatProgress(input, 49), '131346 done 7890 fail 4567/s 40.0% ETA 1m30s');
  assert.equal(formatProgress(input, 40), '131346 done 7890 fail 40.0% ETA 1m30s');
  for (const w of [30, 40, 49, 59, 79]) assert.match(formatProgress(input, w), /40\.0% ETA 1m30s$/, `width ${w}`);
  for (const w of [0, 1, 10, 30, 59, 79]) assert.ok(formatProgress(input, w).length <= w);
});
