// What a run says at its end, off the terminal too: the one- or two-line summary on stderr when
// something failed or the run stopped early, and the --stats-json document. Pure: figures in, text out.
import type { LlmStatsSnapshot } from '../core/llm/llm-stats.js';
import type { OutputMode } from '../core/result-format.js';
import type { StatsSnapshot } from '../core/stats.js';
import type { Summary } from '../core/summary.js';

export interface EndFacts {
  summary: Summary;
  final: StatsSnapshot;
  /** Where the results went: the outfile, or undefined for standard output. */
  outPath: string | undefined;
  output: OutputMode;
  /** The run stopped before it had read all of its input (its own messages say how to go on). */
  stoppedEarly: boolean;
  dryRun: boolean;
}

/** `ModelError 2, InvalidJson 1`: the most frequent first. */
export function failuresText(byCode: ReadonlyMap<string, number>): string {
  return [...byCode]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
}

/**
 * The end-of-run summary: nothing for a clean run; otherwise a line with the counts, the failures by
 * code, the first failed line numbers and where the results went, and a line on what to do next
 * (unless the run stopped early: its own messages say how to continue).
 */
export function formatEndSummary(f: EndFacts): string[] {
  const { summary: s, final } = f;
  if (s.failed === 0 && !f.stoppedEarly) return [];
  // A run stopped early has not read all of its input: the count is of the records it read.
  const parts = [`${s.records} record${s.records === 1 ? '' : 's'}${f.stoppedEarly ? ' read' : ''}: ${s.ok} ok, ${s.failed} failed`];
  if (s.failed > 0) parts[0] += ` (${failuresText(s.failuresByCode)})`;
  if (final.skipped > 0) parts.push(`${final.skipped} not answered`);
  if (s.resumed > 0) parts.push(`${s.resumed} answered before`);
  const lines = s.firstFailedLines;
  if (lines.length > 0) parts.push(`first failed line${lines.length === 1 ? '' : 's'}: ${lines.slice(0, 10).join(', ')}${s.failed > 10 ? ', ...' : ''}`);
  parts.push(`results in ${f.outPath ?? 'standard output'}`);
  const out = [parts.join('; ')];
  if (f.stoppedEarly || s.failed === 0) return out;
  if (f.output === 'body')
    out.push("  a failed record's line in the output is empty; its error is on stderr above (--output result keeps errors with the results)");
  else if (f.dryRun) out.push('  (--dry-run) the failed records are not valid: their results say which field and why');
  else if (f.outPath !== undefined)
    out.push(`  to send the failed records again: the same command with --resume-failed ${f.outPath} (instead of --resume/--force)`);
  else out.push('  the failed results have "ok":false and an "error"; to send them again later, write results to an outfile and use --resume-failed');
  return out;
}

export interface StatsJsonFacts {
  final: StatsSnapshot;
  /** --llm: the run's LLM figures (null without --llm). */
  llm?: LlmStatsSnapshot | null;
  summary: Summary;
  version: string;
  startedAt: number;
  endedAt: number;
  exitCode: number;
  endpointUrl: string;
  /** The limit in force: --concurrency N, or --concurrency auto's current level. */
  concurrency: number;
  /** --concurrency auto (or the profile's retry_mode adaptive). */
  adaptive: boolean;
  outPath: string | undefined;
  stoppedBy: string | null;
  fatal: string | null;
}

/** How many failed line numbers --stats-json lists. */
export const STATS_FAILED_LINES = 20;

/**
 * The --stats-json document. Its keys are a stable interface (README, "--stats-json"): the same
 * set on every run, `null` where there is no value; new keys may be added, none renamed or removed.
 */
export function statsJsonDocument(x: StatsJsonFacts): Record<string, unknown> {
  const { final, summary } = x;
  // Rounded as --stats prints them (toFixed), so the text and the JSON agree.
  const round1 = (v: number | undefined): number | null => (v === undefined ? null : Number(v.toFixed(1)));
  return {
    version: x.version,
    startedAt: new Date(x.startedAt).toISOString(),
    endedAt: new Date(x.endedAt).toISOString(),
    exitCode: x.exitCode,
    endpointUrl: x.endpointUrl,
    endpointNames: [...summary.endpointNames],
    results: x.outPath ?? '-',
    records: final.records,
    ok: final.ok,
    failed: final.failed,
    skipped: final.skipped,
    resumed: final.resumed,
    inFlight: final.inFlight,
    attempts: final.attempts,
    retries: final.retries,
    throttles: final.throttles,
    wallMs: Math.round(final.wallMs),
    recordsPerSecond: round1(final.recordsPerSecond),
    concurrency: x.concurrency,
    concurrencyMode: x.adaptive ? 'auto' : 'fixed',
    latencyMs: { p50: round1(final.latencyMs.p50), p90: round1(final.latencyMs.p90), p99: round1(final.latencyMs.p99), max: round1(final.latencyMs.max) },
    failuresByCode: Object.fromEntries(summary.failuresByCode),
    firstFailedLines: summary.firstFailedLines.slice(0, STATS_FAILED_LINES),
    // null unless records were batched (--batch-size above 1).
    meanBatchSize: final.meanBatchSize !== undefined ? round1(final.meanBatchSize) : null,
    // null unless answers were read (--llm).
    llm: x.llm ?? null,
    // null unless --async: { submitted, uploaded, collected, failed, timedOut, pending, resumed, s3Requests }.
    async: final.async ?? null,
    stoppedBy: x.stoppedBy,
    fatal: x.fatal,
  };
}
