// A run's LLM figures in flat memory (--stats, --stats-json): time to first token, inter-token
// latency (each record's mean gap, as llmperf reports it), end-to-end latency, their percentiles
// from log-bucketed histograms (about 2% precision), and token totals with how many records lacked
// a count.
import { LatencyHistogram } from '../stats.js';
import type { LlmInfo } from './types.js';

export interface LlmStatsSnapshot {
  /** Records answered and read (--llm). */
  records: number;
  ttftMs: Percentiles;
  itlMs: Percentiles;
  e2eMs: Percentiles;
  inputTokens: number;
  outputTokens: number;
  /** Every answered record reported (or streamed) its count: the total is exact. */
  inputTokensExact: boolean;
  outputTokensExact: boolean;
  /** Records whose count the container did not give (not in the totals). */
  recordsWithoutInputTokens: number;
  recordsWithoutOutputTokens: number;
  /** Output tokens over the run's wall time. */
  outputTokensPerSecond: number;
}

export interface Percentiles {
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

export class LlmStats {
  records = 0;
  readonly ttft = new LatencyHistogram();
  readonly itl = new LatencyHistogram();
  readonly e2e = new LatencyHistogram();
  inputTokens = 0;
  outputTokens = 0;
  withoutInput = 0;
  withoutOutput = 0;

  add(info: LlmInfo, e2eMs: number | undefined): void {
    this.records++;
    if (info.ttftMs !== null) this.ttft.add(info.ttftMs);
    if (info.itlMs !== null) this.itl.add(info.itlMs.mean);
    if (e2eMs !== undefined) this.e2e.add(e2eMs);
    if (info.inputTokens === null) this.withoutInput++;
    else this.inputTokens += info.inputTokens;
    if (info.outputTokens === null) this.withoutOutput++;
    else this.outputTokens += info.outputTokens;
  }

  snapshot(wallMs: number): LlmStatsSnapshot {
    const p = (h: LatencyHistogram): Percentiles => ({ p50: q(h, 0.5), p90: q(h, 0.9), p99: q(h, 0.99) });
    return {
      records: this.records,
      ttftMs: p(this.ttft),
      itlMs: p(this.itl),
      e2eMs: p(this.e2e),
      inputTokens: this.inputTokens,
      outputTokens: this.outputTokens,
      inputTokensExact: this.withoutInput === 0,
      outputTokensExact: this.withoutOutput === 0,
      recordsWithoutInputTokens: this.withoutInput,
      recordsWithoutOutputTokens: this.withoutOutput,
      outputTokensPerSecond: wallMs > 0 ? Math.round((this.outputTokens * 100000) / wallMs) / 100 : 0,
    };
  }
}

function q(h: LatencyHistogram, at: number): number | null {
  const v = h.quantile(at);
  return v === undefined ? null : Math.round(v * 10) / 10;
}

/** The --stats lines of an LLM run. */
export function formatLlmStats(s: LlmStatsSnapshot): string[] {
  const ms = (v: number | null): string => (v === null ? '-' : `${v}ms`);
  const pct = (x: Percentiles): string => `p50 ${ms(x.p50)}, p90 ${ms(x.p90)}, p99 ${ms(x.p99)}`;
  const total = (n: number, exact: boolean, missing: number): string => (exact ? `${n}` : `${n} (${missing} records without a count)`);
  return [
    `llm: ${s.records} answers read`,
    `  time to first token: ${pct(s.ttftMs)}`,
    `  inter-token latency: ${pct(s.itlMs)}`,
    `  end-to-end latency: ${pct(s.e2eMs)}`,
    `  tokens: ${total(s.inputTokens, s.inputTokensExact, s.recordsWithoutInputTokens)} in, ${total(s.outputTokens, s.outputTokensExact, s.recordsWithoutOutputTokens)} out, ${s.outputTokensPerSecond} output tokens/s`,
  ];
}
