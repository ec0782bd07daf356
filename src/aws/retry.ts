// Pure: how long to wait before a retry (AWS SDK standard mode, docs/wire.md §4.1), with the backoff bases
// the JS SDK's StandardRetryStrategy uses now (@smithy/core/retry's Retry parameters: 50 ms, and 1 s
// after throttling, since @smithy/core 3.40; the exported DEFAULT_RETRY_DELAY_BASE / 100 ms and
// THROTTLING_RETRY_DELAY_BASE / 500 ms are the deprecated pre-2026 strategy's).
import type { IncomingHttpHeaders } from 'node:http';
import { MAXIMUM_RETRY_DELAY, Retry } from '@smithy/core/retry';

export const BASE_DELAY_MS = Retry.delay();
export const THROTTLING_BASE_DELAY_MS = Retry.throttlingDelay();
export const MAX_BACKOFF_MS = MAXIMUM_RETRY_DELAY;

/**
 * Full jitter, as the SDK's DefaultRetryBackoffStrategy: floor(random() * min(base * 2^retry, 20 s)),
 * retry counted from 0. A server hint wins up to 5 s beyond the computed delay:
 * max(computed, min(hint, computed + 5 s)), as StandardRetryStrategy does.
 */
export function retryDelay(retry: number, throttling: boolean, random: () => number, hintMs?: number): number {
  return backoffDelay(retry, throttling ? THROTTLING_BASE_DELAY_MS : BASE_DELAY_MS, random, hintMs);
}

/** retryDelay's backoff from another base (ms). */
export function backoffDelay(retry: number, baseMs: number, random: () => number, hintMs?: number): number {
  const computed = Math.floor(random() * Math.min(baseMs * 2 ** retry, MAX_BACKOFF_MS));
  if (hintMs === undefined || !Number.isFinite(hintMs)) return computed;
  return Math.max(computed, Math.min(Math.max(0, hintMs), computed + 5_000));
}

/** `x-amz-retry-after` (ms) or `retry-after` (seconds or an HTTP date), as milliseconds from now. */
export function retryAfterMs(headers: IncomingHttpHeaders, nowMs: number): number | undefined {
  const amz = headers['x-amz-retry-after'];
  if (typeof amz === 'string' && /^\d+$/.test(amz.trim())) return Number(amz.trim());
  const ra = headers['retry-after'];
  if (typeof ra !== 'string') return undefined;
  const v = ra.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const secondsAfterDate = /GMT,\s*(\d+(?:\.\d+)?)$/.exec(v);
  if (secondsAfterDate) return Number(secondsAfterDate[1]) * 1000;
  // An HTTP date starts with the day name; Date.parse would read "-1" or "7" as years.
  if (!/^[A-Za-z]/.test(v)) return undefined;
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : date - nowMs;
}

/** Server clock from the `Date` header, when present and sane. */
export function serverTimeMs(headers: IncomingHttpHeaders): number | undefined {
  const d = headers.date;
  if (typeof d !== 'string') return undefined;
  const t = Date.parse(d);
  return Number.isNaN(t) ? undefined : t;
}

/** The SDKs correct their clock when the server's differs by 5 minutes or more. */
export const CLOCK_SKEW_THRESHOLD_MS = 300_000;
