// A run's live figures: what --progress, --stats and --stats-json show, updated as records go.
import type { FatalError } from '../errors.js';
import { LatencyHistogram } from './stats.js';

export interface Summary {
  /** Records read (blank lines are not records). */
  records: number;
  /** Records whose answer an earlier run already gave (--resume). */
  resumed: number;
  /** Input bytes taken so far: the lines handed to the decoder, newlines included (--progress percentage). */
  bytesIn: number;
  /** Attempts on the wire right now. */
  inFlight: number;
  /** Latency of each record's last attempt. */
  latency: LatencyHistogram;
  startedAt: number;
  /** Result lines written. */
  written: number;
  ok: number;
  failed: number;
  attempts: number;
  retries: number;
  throttles: number;
  /** Many records per request: the requests made for batches, and the records they carried. */
  requests: number;
  requestRecords: number;
  /** Failed records by error code (ModelError, InvalidJson...). */
  failuresByCode: Map<string, number>;
  /** The first FIRST_FAILED_LINES failed records' line numbers, in input order. */
  firstFailedLines: number[];
  /** The endpoint names records were sent to (the first MAX_ENDPOINT_NAMES). */
  endpointNames: Set<string>;
  /** --async: submissions and collections (core/async/unit.ts). */
  async?: AsyncCounts;
  /** Why the run ended early, if it did. */
  stoppedBy?: 'fatal' | 'max-errors' | 'stop';
  fatal?: FatalError;
}

export interface AsyncCounts {
  /** Accepted by the service (202), this run. */
  submitted: number;
  /** Inputs uploaded to S3. */
  uploaded: number;
  /** Output objects read (the record succeeded). */
  collected: number;
  /** Failure objects read (the record failed). */
  failed: number;
  /** No output or failure object in time (AsyncTimeout). */
  timedOut: number;
  /** Submitted (this run or an earlier one) and not yet collected. */
  pending: number;
  /** Submitted by an earlier run and collected by this one (--resume). */
  resumed: number;
}

export function newAsyncCounts(): AsyncCounts {
  return { submitted: 0, uploaded: 0, collected: 0, failed: 0, timedOut: 0, pending: 0, resumed: 0 };
}

export function newSummary(startedAt: number): Summary {
  return {
    records: 0,
    resumed: 0,
    bytesIn: 0,
    written: 0,
    ok: 0,
    failed: 0,
    attempts: 0,
    retries: 0,
    throttles: 0,
    requests: 0,
    requestRecords: 0,
    inFlight: 0,
    latency: new LatencyHistogram(),
    startedAt,
    failuresByCode: new Map(),
    firstFailedLines: [],
    endpointNames: new Set(),
  };
}

/** How many failed line numbers a summary keeps (the end-of-run message and --stats-json show them). */
export const FIRST_FAILED_LINES = 20;
export const MAX_ENDPOINT_NAMES = 20;

/** One failed record: counted, by its error code, and its line number while there are few. */
export function countFailure(summary: Summary, line: number, code: string | undefined): void {
  summary.failed++;
  const key = code ?? 'Error';
  summary.failuresByCode.set(key, (summary.failuresByCode.get(key) ?? 0) + 1);
  if (summary.firstFailedLines.length < FIRST_FAILED_LINES) summary.firstFailedLines.push(line);
}

/** A record about to be sent to this endpoint. */
export function noteEndpoint(summary: Summary, name: string | undefined): void {
  if (name !== undefined && summary.endpointNames.size < MAX_ENDPOINT_NAMES) summary.endpointNames.add(name);
}
