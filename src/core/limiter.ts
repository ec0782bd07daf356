// Admission control for attempts: a concurrency limit that may change while requests run
// (fixed, or adaptive), and a smooth rate limit. Pure logic with injected clock and timers,
// so tests drive them deterministically.

/**
 * A counting semaphore whose limit can change at any time. Waiters are served in FIFO order, except
 * that those that asked to go `first` are served before the others (among themselves, FIFO).
 */
export class DynamicSemaphore {
  #active = 0;
  #first: Array<() => void> = [];
  #waiters: Array<() => void> = [];

  constructor(private limitFn: () => number) {}

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#first.length + this.#waiters.length;
  }

  /**
   * Resolves when a slot is free; call the returned function exactly once to free it.
   * Rejects (and takes no slot) if `signal` aborts first. `first`: served before every waiter that did
   * not ask to be (a retry, whose record holds back the ordered output, goes before new records).
   */
  acquire(signal?: AbortSignal, first = false): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(new Error('aborted'));
    if (this.#active < this.limitFn() && this.waiting === 0) {
      this.#active++;
      return Promise.resolve(this.#release());
    }
    const queue = first ? this.#first : this.#waiters;
    return new Promise((resolve, reject) => {
      const admit = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.#active++;
        resolve(this.#release());
      };
      const onAbort = (): void => {
        const i = queue.indexOf(admit);
        if (i >= 0) queue.splice(i, 1);
        reject(new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.push(admit);
    });
  }

  /** Call after the limit grew, to admit waiters. */
  wake(): void {
    while (this.#active < this.limitFn()) {
      const next = this.#first.shift() ?? this.#waiters.shift();
      if (next === undefined) return;
      next();
    }
  }

  #release(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#active--;
      this.wake();
    };
  }
}

export interface AdaptiveOptions {
  min: number;
  max: number;
  /** Starting limit (default min(4, max)). */
  initial?: number;
  /** Multiplicative decrease on throttling (default 0.8). */
  backoff?: number;
  /** Latency above this multiple of the baseline counts as congestion (default 2). */
  latencyTolerance?: number;
}

/**
 * AIMD concurrency control in the spirit of TCP congestion control:
 * - slow start: +1 per success (the limit doubles every round trip) until the first congestion signal;
 * - congestion avoidance: +1/limit per success (one more slot per round trip's worth of successes),
 *   slowed to 1/10 of that just below the limit where congestion was last seen, and back to
 *   slow start once well past it (the capacity grew);
 * - on a throttle, or when latency climbs well above its baseline: limit x backoff, at most once per
 *   round trip: each request carries the controller's `epoch` from when it was sent, and signals
 *   from requests sent before the last decrease are not counted again.
 */
export class AdaptiveConcurrency {
  readonly min: number;
  readonly max: number;
  #limit: number;
  #slowStart = true;
  #backoff: number;
  #tolerance: number;
  /** The limit at the last congestion signal: the capacity last seen. */
  #wMax: number | undefined;
  /** Smoothed and minimum recent latency, ms. */
  #smoothed: number | undefined;
  #baseline: number | undefined;
  #throttles = 0;
  #decreases = 0;

  constructor(opts: AdaptiveOptions) {
    if (!(opts.min >= 1 && opts.max >= opts.min)) throw new TypeError(`need 1 <= min <= max, got min ${opts.min}, max ${opts.max}`);
    this.min = opts.min;
    this.max = opts.max;
    this.#limit = clamp(opts.initial ?? Math.min(4, opts.max), opts.min, opts.max);
    this.#backoff = opts.backoff ?? 0.8;
    this.#tolerance = opts.latencyTolerance ?? 2;
  }

  /**
   * Give this to onSuccess/onThrottle for a request sent now. (Not a time: with a millisecond clock,
   * requests sent in the same millisecond as a decrease counted again and cascaded decreases,
   * 17 -> 14 -> 11 -> 9 on one burst of throttles, and the capacity remembered became the last of them.)
   */
  get epoch(): number {
    return this.#decreases;
  }

  /** The current whole-number limit. */
  get limit(): number {
    return Math.floor(this.#limit);
  }

  get stats(): { limit: number; throttles: number; decreases: number; baselineMs: number | undefined } {
    return { limit: this.limit, throttles: this.#throttles, decreases: this.#decreases, baselineMs: this.#baseline };
  }

  /** A request sent in `epoch` succeeded after `latencyMs`. */
  onSuccess(epoch: number, latencyMs: number): void {
    this.#smoothed = this.#smoothed === undefined ? latencyMs : this.#smoothed * 0.9 + latencyMs * 0.1;
    // The baseline follows the lowest latency seen, drifting up slowly so it can track a slower endpoint.
    this.#baseline = this.#baseline === undefined ? latencyMs : Math.min(latencyMs, this.#baseline * 1.001 + 0.01);
    if (this.#smoothed > this.#baseline * this.#tolerance + 5 && this.#smoothed > 20) {
      this.#decrease(epoch);
      return;
    }
    let step: number;
    const wMax = this.#wMax;
    if (this.#slowStart) step = 1;
    else if (wMax !== undefined && this.#limit >= wMax - near(wMax) && this.#limit < wMax + near(wMax)) {
      // Around the capacity last seen (within a slot, or 3%): probe slowly (1/10 slot per round trip),
      // as CUBIC flattens near its last maximum, so overshoots stay rare even when capacity is tiny.
      // Slow on both sides: with several processes on one endpoint each holds a few slots, and a
      // quick slot above the old maximum was a throttle every few round trips for each of them.
      step = 0.1 / this.#limit;
    } else if (wMax !== undefined && this.#limit >= wMax + 2) {
      // Well past the old maximum with no congestion: capacity grew, search for it quickly again.
      this.#wMax = undefined;
      this.#slowStart = true;
      step = 1;
    } else step = 1 / this.#limit;
    this.#limit = Math.min(this.max, this.#limit + step);
  }

  /** About one round trip: the lowest latency seen (drifting up slowly), 50 ms before any, 1-1000 ms. */
  get roundTripMs(): number {
    return Math.min(1000, Math.max(1, Math.round(this.#baseline ?? 50)));
  }

  /**
   * A request sent in `epoch` was throttled. Returns how long its slot rests before another attempt may
   * use it (ms): about one round trip. Without the rest, a process at a small limit sends again the
   * moment it is throttled, and is throttled again: against an endpoint shared by several processes,
   * most of its attempts were throttles while the others kept their slots. (The rest costs a process
   * alone a slot for a round trip after each cut, ~2% of its throughput at K = 8. Tried and left: no
   * rest when the cut already took a slot away, or half a round trip then; in the simulation of
   * test/helpers/shared-endpoint.ts the shares of 4 processes spread to 0.71-1.30 and 0.66-1.36 of a
   * fair share, outside the 0.8-1.25 that test/unit/core/fairness.test.ts holds them to.)
   */
  onThrottle(epoch: number): number {
    this.#throttles++;
    this.#decrease(epoch);
    return this.roundTripMs;
  }

  #decrease(epoch: number): void {
    this.#slowStart = false;
    if (epoch < this.#decreases) return; // already reacted to this round trip: the limit was cut since
    this.#decreases++;
    this.#wMax = this.#limit;
    this.#limit = Math.max(this.min, this.#limit * this.#backoff);
    // Let the latency estimate settle at the new level rather than decreasing again at once.
    this.#smoothed = this.#baseline;
  }
}

/**
 * Smooth rate limiting (a token bucket of one token, i.e. virtual scheduling): attempt k may start
 * no earlier than start + k/rate, so the rate holds over any window and there are no bursts after
 * idle periods beyond one token.
 */
export class RateLimiter {
  #next = -Infinity;
  readonly intervalMs: number;

  constructor(
    readonly perSecond: number,
    private now: () => number,
    private sleep: (ms: number, signal?: AbortSignal) => Promise<void>,
  ) {
    if (!(perSecond > 0)) throw new TypeError(`rate must be > 0, got ${perSecond}`);
    this.intervalMs = 1000 / perSecond;
  }

  /** Waits for this caller's turn (rejects if `signal` aborts while waiting). */
  async take(signal?: AbortSignal): Promise<void> {
    const now = this.now();
    const at = Math.max(now, this.#next);
    this.#next = at + this.intervalMs;
    if (at > now) await this.sleep(at - now, signal);
  }
}

/** How close to the capacity last seen counts as near it. */
function near(wMax: number): number {
  return Math.max(1, 0.03 * wMax);
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, n));
}
