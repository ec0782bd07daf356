// The AWS SDKs' retry quota, run by the JS SDK's own StandardRetryStrategy (@smithy/core/retry), the
// strategy every v3 client uses in standard and adaptive mode. One quota per run, as one per client:
// it starts with INITIAL_RETRY_TOKENS (500); each retry costs 5 after throttling and 14 after any
// other retryable error (the SDK's current values: Retry.throttlingCost() / Retry.cost(), since
// @smithy/core 3.40); a success gives back the cost of the record's last retry, or NO_RETRY_INCREMENT
// (1) when it succeeded at once, up to 500. When the quota cannot pay for a retry, the record is not
// retried: it fails with its error.
//
// The strategy is used for its quota only. The pipeline keeps the attempt bound (the strategy gets no
// limit of its own) and computes and sleeps the backoff itself (retry.ts, the same formula), with its
// injectable clock, randomness and abortable sleep: the strategy's own backoff is set to 0 here.
import { StandardRetryStrategy } from '@smithy/core/retry';
import type { StandardRetryBackoffStrategy, StandardRetryToken } from '@smithy/types';

export type RetryKind = 'throttling' | 'transient';

export interface RetryQuota {
  /** The token of a record's first attempt. */
  readonly initial: StandardRetryToken;
  /** Pays for one more retry of the record holding `token`: its new token, or undefined when the quota cannot. */
  acquire(token: StandardRetryToken, kind: RetryKind): Promise<StandardRetryToken | undefined>;
  /** The record holding `token` succeeded. */
  release(token: StandardRetryToken): void;
  /** Tokens left. */
  readonly capacity: number;
}

const NO_BACKOFF: StandardRetryBackoffStrategy = { computeNextBackoffDelay: () => 0, setDelayBase: () => undefined };

export async function createRetryQuota(): Promise<RetryQuota> {
  const strategy = new StandardRetryStrategy({ maxAttempts: Number.MAX_SAFE_INTEGER, backoff: NO_BACKOFF });
  const initial = await strategy.acquireInitialRetryToken('');
  return {
    initial,
    async acquire(token, kind) {
      try {
        // Throws "No retry token available" when the capacity is below the cost.
        return await strategy.refreshRetryTokenForRetry(token, { errorType: kind === 'throttling' ? 'THROTTLING' : 'TRANSIENT' });
      } catch {
        return undefined;
      }
    },
    release: (token) => strategy.recordSuccess(token),
    get capacity() {
      return strategy.getCapacity();
    },
  };
}
