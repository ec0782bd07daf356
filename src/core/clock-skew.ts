// The clock offset to sign with: the SDKs correct their clock from the service's Date header when it
// is 5 minutes or more away from ours, and retry the failed attempt re-signed with the new time.
import type { IncomingHttpHeaders } from 'node:http';
import { CLOCK_SKEW_THRESHOLD_MS, serverTimeMs } from '../aws/retry.js';

export class ClockSkew {
  /** Milliseconds to add to our clock. */
  offsetMs = 0;

  constructor(private readonly now: () => number) {}

  /** The signing time for an attempt starting now. */
  signingDate(): Date {
    return new Date(this.now() + this.offsetMs);
  }

  /** Updates the offset from an answer's Date header; true when it changed. */
  correct(headers: IncomingHttpHeaders): boolean {
    const serverTime = serverTimeMs(headers);
    if (serverTime === undefined || Math.abs(serverTime - (this.now() + this.offsetMs)) < CLOCK_SKEW_THRESHOLD_MS) return false;
    this.offsetMs = serverTime - this.now();
    return true;
  }
}
