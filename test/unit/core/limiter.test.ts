// limiter.ts: the semaphore, the adaptive controller (simulated endpoint, injected clock) and the
// rate limiter (injected clock and sleep) — no wall-clock timing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '../../../src/emulator/prng.js';
import { AdaptiveConcurrency, DynamicSemaphore, RateLimiter } from '../../../src/core/limiter.js';

test('semaphore: never more than the limit, FIFO, follows a changing limit', async () => {
  let limit = 2;
  const sem = new DynamicSemaphore(() => limit);
  const order: number[] = [];
  const releases: Array<() => void> = [];
  const grab = async (i: number) => {
    const release = await sem.acquire();
    order.push(i);
    releases.push(release);
  };
  const all = [0, 1, 2, 3, 4].map(grab);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, [0, 1]);
  assert.equal(sem.active, 2);
  assert.equal(sem.waiting, 3);
  limit = 4;
  sem.wake();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, [0, 1, 2, 3]);
  limit = 1;
  releases[0]!();
  releases[0]!(); // releasing twice is harmless
  releases[1]!();
  releases[2]!();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, [0, 1, 2, 3], 'limit 1 with one still active: nobody else gets in');
  releases[3]!();
  await Promise.all(all);
  assert.deepEqual(order, [0, 1, 2, 3, 4]);
});

test('semaphore: an aborted waiter takes no slot and leaves the queue', async () => {
  const sem = new DynamicSemaphore(() => 1);
  const first = await sem.acquire();
  const ac = new AbortController();
  const waiting = sem.acquire(ac.signal);
  const next = sem.acquire();
  ac.abort();
  await assert.rejects(waiting, /aborted/);
  first();
  const release = await next;
  assert.equal(sem.active, 1);
  release();
  assert.equal(sem.active, 0);
  await assert.rejects(sem.acquire(AbortSignal.abort()), /aborted/);
});

test('semaphore: waiters asking to go first are served before the others, FIFO among themselves; an aborted one leaves its queue', async () => {
  const sem = new DynamicSemaphore(() => 1);
  const holder = await sem.acquire();
  const order: string[] = [];
  const take = (name: string, first: boolean, signal?: AbortSignal) =>
    sem.acquire(signal, first).then((release) => {
      order.push(name);
      release();
    });
  const ac = new AbortController();
  const waits = [
    take('new1', false),
    take('new2', false),
    take('retry1', true),
    take('gone', true, ac.signal).catch(() => order.push('aborted')),
    take('retry2', true),
  ];
  assert.equal(sem.waiting, 5);
  ac.abort();
  await Promise.resolve();
  assert.equal(sem.waiting, 4);
  holder();
  await Promise.all(waits);
  assert.deepEqual(order, ['aborted', 'retry1', 'retry2', 'new1', 'new2']);
  assert.equal(sem.active, 0);
});

/**
 * A simulated endpoint that serves up to `capacity(t)` concurrent requests per round trip of 50 ms
 * and throttles the rest; the controller decides how many to send each round.
 */
function simulate(rounds: number, capacity: (round: number) => number, opts: { max: number }) {
  const ctl = new AdaptiveConcurrency({ min: 1, max: opts.max });
  const limits: number[] = [];
  let sent = 0;
  let throttled = 0;
  let served = 0;
  for (let round = 0; round < rounds; round++) {
    const epoch = ctl.epoch; // the whole round is sent at once, then answered
    const n = ctl.limit;
    const k = capacity(round);
    for (let i = 0; i < n; i++) {
      sent++;
      if (i < k) {
        served++;
        ctl.onSuccess(epoch, 50);
      } else {
        throttled++;
        ctl.onThrottle(epoch);
      }
    }
    limits.push(ctl.limit);
  }
  return { limits, sent, throttled, served };
}

test('adaptive: finds a fixed capacity, keeps >= 90% of its throughput with < 5% throttled', () => {
  for (const k of [3, 8, 32, 100]) {
    const r = simulate(600, () => k, { max: 256 });
    const bestFixed = 600 * k;
    assert.ok(r.served >= 0.9 * bestFixed, `K=${k}: served ${r.served} < 90% of ${bestFixed}`);
    assert.ok(r.throttled / r.sent < 0.05, `K=${k}: throttled ${r.throttled}/${r.sent}`);
    const tail = r.limits.slice(-100);
    assert.ok(Math.max(...tail) <= k + 1 && Math.min(...tail) >= Math.floor(k * 0.7), `K=${k}: limits ${tail.join(',')}`);
  }
});

/**
 * Continuous time, as the pipeline sees it: answers arrive one by one, a throttle comes back at once
 * (1 ms) while the rest are still in flight, and a throttled record is retried after the SDK's
 * throttling backoff. Returns the time-weighted mean of the limit and the throttled share.
 */
function simulateContinuous(k: number, records: number, seed: number) {
  const rnd = mulberry32(seed);
  const ctl = new AdaptiveConcurrency({ min: 1, max: 128 });
  const events: Array<{ at: number; run: () => void }> = [];
  let t = 0,
    active = 0,
    next = 0,
    done = 0,
    attempts = 0,
    throttles = 0,
    serverInFlight = 0;
  let limitArea = 0,
    lastT = 0;
  const ready: number[] = []; // retries waiting for a slot
  const admit = (): void => {
    while (active < ctl.limit && (ready.length > 0 || next < records)) {
      const retry = ready.length > 0 ? ready.shift()! : 0;
      if (retry === 0) next++;
      active++;
      attempts++;
      const epoch = ctl.epoch;
      if (serverInFlight >= k) {
        throttles++;
        events.push({
          at: t + 1,
          run: () => {
            active--;
            ctl.onThrottle(epoch);
            const delay = Math.floor(rnd() * Math.min(500 * 2 ** retry, 20_000));
            events.push({
              at: t + delay,
              run: () => {
                ready.push(retry + 1);
                admit();
              },
            });
            admit();
          },
        });
      } else {
        serverInFlight++;
        const latency = 50 + rnd() * 5;
        events.push({
          at: t + latency,
          run: () => {
            serverInFlight--;
            active--;
            done++;
            ctl.onSuccess(epoch, latency);
            admit();
          },
        });
      }
    }
  };
  admit();
  while (done < records) {
    events.sort((a, b) => a.at - b.at);
    const e = events.shift()!;
    limitArea += ctl.limit * (e.at - lastT);
    lastT = t = e.at;
    e.run();
  }
  return { meanLimit: limitArea / t, throttledShare: throttles / attempts, decreases: ctl.stats.decreases };
}

test('adaptive: with answers arriving one at a time and throttled records retried, the mean limit stays near the capacity', () => {
  for (const k of [4, 16, 64]) {
    const r = simulateContinuous(k, k * 300, k);
    assert.ok(r.meanLimit >= 0.9 * k, `K=${k}: mean limit ${r.meanLimit.toFixed(2)}`);
    assert.ok(r.meanLimit <= k + 1, `K=${k}: mean limit ${r.meanLimit.toFixed(2)} above the capacity`);
    assert.ok(r.throttledShare < 0.05, `K=${k}: throttled ${(r.throttledShare * 100).toFixed(2)}%`);
  }
});

test('adaptive: follows the capacity down and back up within a few dozen round trips', () => {
  const cap = (round: number) => (round < 200 ? 64 : round < 400 ? 16 : 64);
  const r = simulate(600, cap, { max: 256 });
  const at = (round: number) => r.limits[round]!;
  assert.ok(at(199) >= 50, `reached ${at(199)} before the drop`);
  const downBy = r.limits.slice(200).findIndex((l) => l <= 16);
  assert.ok(downBy >= 0 && downBy <= 10, `took ${downBy} round trips to come down to 16`);
  const upBy = r.limits.slice(400).findIndex((l) => l >= 50);
  assert.ok(upBy >= 0 && upBy <= 60, `took ${upBy} round trips to climb back near 64`);
});

test('adaptive: respects min and max; one decrease per round trip however many throttles', () => {
  const ctl = new AdaptiveConcurrency({ min: 2, max: 10, initial: 8 });
  for (let i = 0; i < 100; i++) ctl.onSuccess(ctl.epoch, 10);
  assert.equal(ctl.limit, 10);
  const burst = ctl.epoch; // 20 requests sent together, all throttled
  for (let i = 0; i < 20; i++) ctl.onThrottle(burst);
  assert.equal(ctl.limit, 8, 'one decrease for a burst of throttles from one round trip');
  // Answers to requests sent before that decrease, arriving later, change nothing either.
  ctl.onSuccess(burst, 500);
  ctl.onThrottle(burst);
  assert.equal(ctl.limit, 8);
  for (let i = 0; i < 30; i++) ctl.onThrottle(ctl.epoch); // each sent after the previous decrease
  assert.equal(ctl.limit, 2);
  assert.equal(ctl.stats.decreases, 31);
  assert.throws(() => new AdaptiveConcurrency({ min: 0, max: 4 }), /1 <= min <= max/);
});

test('adaptive: rising latency backs off even without throttling', () => {
  const ctl = new AdaptiveConcurrency({ min: 1, max: 100, initial: 40 });
  for (let i = 0; i < 50; i++) ctl.onSuccess(ctl.epoch, 20);
  const before = ctl.limit;
  for (let i = 0; i < 200; i++) ctl.onSuccess(ctl.epoch, 200);
  assert.ok(ctl.limit < before, `limit ${ctl.limit} did not drop below ${before} when latency rose 10x`);
});

test('rate limiter: evenly spaced starts at the configured rate, no burst after idle', async () => {
  let now = 1_000;
  const starts: number[] = [];
  const rl = new RateLimiter(
    20,
    () => now,
    async (ms) => {
      now += ms;
    },
  );
  for (let i = 0; i < 200; i++) {
    await rl.take();
    starts.push(now);
  }
  // 200 starts at 20/s: 10 s of windows, each exactly 20.
  for (let w = 0; w < 9; w++) {
    const inWindow = starts.filter((s) => s >= 1_000 + w * 1000 && s < 2_000 + w * 1000).length;
    assert.equal(inWindow, 20, `window ${w}`);
  }
  now += 60_000; // idle for a minute
  const afterIdle: number[] = [];
  for (let i = 0; i < 5; i++) {
    await rl.take();
    afterIdle.push(now);
  }
  assert.deepEqual(
    afterIdle.map((s) => s - afterIdle[0]!),
    [0, 50, 100, 150, 200],
  );
  assert.throws(
    () =>
      new RateLimiter(
        0,
        () => 0,
        async () => undefined,
      ),
    /rate must be > 0/,
  );
});
