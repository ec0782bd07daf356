// A deterministic simulation of several independent sm-invoke processes (flows), each with its own
// AdaptiveConcurrency (the --concurrency auto controller) and slot semaphore, sending to one endpoint
// that serves at most K requests at a time and throttles the rest at once, as the emulator's capacity
// model does. Simulated time only (an event queue): no timers, no wall clock.
import { AdaptiveConcurrency } from '../../src/core/limiter.js';
import { prng } from './faults.js';

export interface SimOptions {
  /** The endpoint's capacity: requests in flight at most. */
  capacity: number;
  flows: number;
  /** Simulated run length and the start of the steady part, ms. */
  durationMs: number;
  steadyFromMs: number;
  /** A served request's latency, and a throttled one's, ms. */
  latencyMs?: number;
  throttleLatencyMs?: number;
  /** Each flow starts this much after the one before (ms). */
  staggerMs?: number;
  maxConcurrency?: number;
  seed?: number;
  /** One-way network delay: at least netMs, plus up to netJitterMs (default 0.1 + 0-0.9 ms). */
  netMs?: number;
  netJitterMs?: number;
}

export interface FlowStats {
  /** Successes in the steady part. */
  steadyOk: number;
  attempts: number;
  throttled: number;
  finalLimit: number;
}

export interface SimResult {
  flows: FlowStats[];
  /** Successes per second of simulated time, steady part, all flows. */
  totalPerS: number;
  throttledShare: number;
  jain: number;
}

/** Jain's fairness index: 1 when every flow has the same share, 1/n when one flow has everything. */
export function jainIndex(xs: readonly number[]): number {
  const sum = xs.reduce((a, b) => a + b, 0);
  const sq = xs.reduce((a, b) => a + b * b, 0);
  return sq === 0 ? 1 : (sum * sum) / (xs.length * sq);
}

interface Event {
  at: number;
  seq: number;
  run: () => void;
}

/** A min-queue of events by time, then by order of scheduling. */
class Events {
  #a: Event[] = [];
  #seq = 0;
  add(at: number, run: () => void): void {
    const e = { at, seq: this.#seq++, run };
    const a = this.#a;
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = a[mid]!;
      if (m.at < e.at || (m.at === e.at && m.seq < e.seq)) lo = mid + 1;
      else hi = mid;
    }
    a.splice(lo, 0, e);
  }
  next(): Event | undefined {
    return this.#a.shift();
  }
}

export function simulateSharedEndpoint(o: SimOptions): SimResult {
  const latency = o.latencyMs ?? 50;
  const throttleLatency = o.throttleLatencyMs ?? 2;
  const events = new Events();
  let now = 0;
  let endpointInFlight = 0;
  const flows = Array.from({ length: o.flows }, (_, i) => {
    const random = prng((o.seed ?? 1) * 1000 + i);
    const ctl = new AdaptiveConcurrency({ min: 1, max: o.maxConcurrency ?? 256 });
    const stats: FlowStats = { steadyOk: 0, attempts: 0, throttled: 0, finalLimit: 0 };
    return { ctl, random, stats, active: 0, started: false };
  });
  type Flow = (typeof flows)[number];
  // Each flow has an endless backlog of records: it sends whenever it has a free slot.
  const fill = (f: Flow): void => {
    while (f.started && f.active < f.ctl.limit) send(f);
  };
  // One way over the network: 0.1-1 ms, so that a slot freed at the endpoint can be taken by another
  // flow's request before the answer's own flow sends its next one (as on a real network).
  const net = (f: Flow): number => (o.netMs ?? 0.1) + f.random() * (o.netJitterMs ?? 0.9);
  const send = (f: Flow): void => {
    f.active++;
    f.stats.attempts++;
    const epoch = f.ctl.epoch;
    const sentAt = now;
    events.add(now + net(f), () => {
      if (endpointInFlight >= o.capacity) {
        events.add(now + throttleLatency + net(f), () => {
          f.stats.throttled++;
          // The slot rests as the controller says (invoke.ts holds it that long), then goes to the next record.
          const rest = f.ctl.onThrottle(epoch);
          const free = (): void => {
            f.active--;
            fill(f);
          };
          if (rest > 0) events.add(now + rest, free);
          else free();
        });
        return;
      }
      endpointInFlight++;
      events.add(now + latency, () => {
        endpointInFlight--;
        events.add(now + net(f), () => {
          if (now >= o.steadyFromMs) f.stats.steadyOk++;
          f.ctl.onSuccess(epoch, now - sentAt);
          f.active--;
          fill(f);
        });
      });
    });
  };
  flows.forEach((f, i) => {
    events.add(i * (o.staggerMs ?? 0), () => {
      f.started = true;
      fill(f);
    });
  });
  for (let e = events.next(); e !== undefined && e.at <= o.durationMs; e = events.next()) {
    now = e.at;
    e.run();
  }
  for (const f of flows) f.stats.finalLimit = f.ctl.limit;
  const steadyS = (o.durationMs - o.steadyFromMs) / 1000;
  const oks = flows.map((f) => f.stats.steadyOk);
  const attempts = flows.reduce((a, f) => a + f.stats.attempts, 0);
  const throttled = flows.reduce((a, f) => a + f.stats.throttled, 0);
  return {
    flows: flows.map((f) => f.stats),
    totalPerS: oks.reduce((a, b) => a + b, 0) / steadyS,
    throttledShare: throttled / attempts,
    jain: jainIndex(oks),
  };
}
