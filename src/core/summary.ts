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
  /** Why the run ended early, if it did. */
  stoppedBy?: 'fatal' | 'max-errors' | 'stop';
  fatal?: FatalError;
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
  };
}
