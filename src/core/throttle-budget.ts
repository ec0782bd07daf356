// With --concurrency auto, throttling is the controller's signal that the endpoint is full, not a
// record's failure: a throttled attempt does not count toward --max-attempts and its retry is not
// paid from the retry quota (whose 5 tokens per throttled retry would otherwise run dry under the
// sustained throttling of several processes sharing one endpoint, and fail records). A record gives
// up only after THROTTLE_BUDGET_MS of throttling in a row (any other answer starts it over).
// With a fixed --concurrency nothing changes: a throttle is an attempt like any other.

/** How long a record may be throttled in a row, with --concurrency auto, before it fails. */
export const THROTTLE_BUDGET_MS = 10 * 60_000;

/** One record's throttled attempts. */
export class ThrottleBudget {
  /** Throttled attempts that did not count toward --max-attempts. */
  free = 0;
  /** Throttles in a row, and when the first of them was sent. */
  #streak = 0;
  #since: number | undefined;

  constructor(
    private readonly adaptive: boolean,
    private readonly now: () => number,
    private readonly budgetMs = THROTTLE_BUDGET_MS,
  ) {}

  /**
   * After a failed attempt sent at `sentAt`: 'free' when it was a throttle that the budget covers (retry
   * it, uncounted and unpaid, after a throttling backoff of `streak`), 'spent' when the budget ran out,
   * 'counted' otherwise.
   */
  onFailure(throttled: boolean, sentAt: number): 'free' | 'spent' | 'counted' {
    if (!throttled || !this.adaptive) {
      this.#streak = 0;
      this.#since = undefined;
      return 'counted';
    }
    this.#since ??= sentAt;
    this.#streak++;
    if (this.now() - this.#since >= this.budgetMs) return 'spent';
    this.free++;
    return 'free';
  }

  /** Throttles in a row so far (the backoff's exponent). */
  get streak(): number {
    return this.#streak;
  }

  get budgetMinutes(): number {
    return this.budgetMs / 60_000;
  }
}
