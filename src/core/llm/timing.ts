// Pure: a record's token timing from its token events' arrival times (ms since the request was
// sent): time to first token, the inter-token gaps (mean, median, max), and output tokens per second
// over the end-to-end latency (as llmperf's request output throughput).
import type { LlmInfo } from './types.js';

const r1 = (ms: number): number => Math.round(ms * 10) / 10;
const r2 = (x: number): number => Math.round(x * 100) / 100;

export function tokenTiming(times: readonly number[], outputTokens: number | null, e2eMs: number): Pick<LlmInfo, 'ttftMs' | 'itlMs' | 'tokensPerSecond'> {
  const ttftMs = times.length > 0 ? r1(times[0]!) : null;
  let itlMs: LlmInfo['itlMs'] = null;
  if (times.length >= 2) {
    const gaps = new Float64Array(times.length - 1);
    let sum = 0;
    let max = 0;
    for (let i = 1; i < times.length; i++) {
      const g = Math.max(0, times[i]! - times[i - 1]!);
      gaps[i - 1] = g;
      sum += g;
      if (g > max) max = g;
    }
    gaps.sort();
    const n = gaps.length;
    const p50 = n % 2 === 1 ? gaps[(n - 1) / 2]! : (gaps[n / 2 - 1]! + gaps[n / 2]!) / 2;
    itlMs = { mean: r1(sum / n), p50: r1(p50), max: r1(max) };
  }
  return { ttftMs, itlMs, tokensPerSecond: unstreamedRate(outputTokens, e2eMs) };
}

/** outputTokens per second of end-to-end latency; null when either is unknown or zero time. */
export function unstreamedRate(outputTokens: number | null, e2eMs: number): number | null {
  if (outputTokens === null || !(e2eMs > 0)) return null;
  return r2((outputTokens * 1000) / e2eMs);
}
