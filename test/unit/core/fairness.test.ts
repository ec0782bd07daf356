// Scale-out: independent processes with --concurrency auto against one endpoint share it fairly, and
// throttling is the controller's signal, not a record's failure. The sharing is checked on a simulated
// endpoint of capacity K (simulated time, seeded: no timing); the throttle budget through the real
// pipeline against the emulator, with the clock, randomness and sleep injected.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../../../src/emulator/server.js';
import { AdaptiveConcurrency, DynamicSemaphore } from '../../../src/core/limiter.js';
import { runPipeline } from '../../../src/core/pipeline.js';
import { ThrottleBudget, THROTTLE_BUDGET_MS } from '../../../src/core/throttle-budget.js';
import { jainIndex, simulateSharedEndpoint } from '../../helpers/shared-endpoint.js';
import { latin1Lines, pipelineHarness } from '../../helpers/pipeline.js';

describe('fair sharing of one endpoint (simulated: capacity K, 4 flows, 5 minutes steady)', () => {
  for (const capacity of [16, 32, 64]) {
    for (const [seed, staggerMs] of [
      [1, 0],
      [2, 3000],
      [3, 500],
    ] as const) {
      test(`K=${capacity}, seed ${seed}, flows starting ${staggerMs} ms apart`, () => {
        const base = { capacity, durationMs: 330_000, steadyFromMs: 30_000, staggerMs, seed };
        const alone = simulateSharedEndpoint({ ...base, flows: 1 });
        const four = simulateSharedEndpoint({ ...base, flows: 4 });
        const fair = (four.totalPerS * 300) / 4;
        const shares = four.flows.map((f) => f.steadyOk / fair);
        const note = `total ${four.totalPerS.toFixed(0)}/s vs ${alone.totalPerS.toFixed(0)}/s alone; shares ${shares.map((s) => s.toFixed(2)).join(' ')}; Jain ${four.jain.toFixed(3)}; throttled ${(four.throttledShare * 100).toFixed(2)}%`;
        assert.ok(four.totalPerS >= 0.85 * alone.totalPerS, note);
        assert.ok(four.jain >= 0.95, note);
        for (const s of shares) assert.ok(s >= 0.8 && s <= 1.25, note);
        assert.ok(four.throttledShare < 0.05, note);
        // One flow alone keeps close to the capacity (K requests of 50 ms: 20 K per second).
        assert.ok(alone.totalPerS >= 0.9 * capacity * 20, `alone: ${alone.totalPerS}/s`);
      });
    }
  }

  test('no flow starves after a throttle burst: a flow cut to 1 slot by a burst gets its share back', () => {
    // Flow 0 starts alone and takes the whole endpoint; the other three arrive together into a
    // burst of throttles.
    const r = simulateSharedEndpoint({ capacity: 32, flows: 4, durationMs: 120_000, steadyFromMs: 40_000, staggerMs: 0, seed: 9 });
    assert.ok(r.flows.every((f) => f.steadyOk > 0));
    assert.ok(r.jain >= 0.95, `Jain ${r.jain}`);
  });

  test("Jain's index", () => {
    assert.equal(jainIndex([5, 5, 5, 5]), 1);
    assert.equal(jainIndex([1, 0, 0, 0]), 0.25);
  });

  test('a throttled slot rests about one round trip', () => {
    const a = new AdaptiveConcurrency({ min: 1, max: 64, initial: 10 });
    assert.equal(a.roundTripMs, 50); // before any latency was seen
    assert.equal(a.onThrottle(a.epoch), 50);
    a.onSuccess(a.epoch, 80);
    a.onSuccess(a.epoch, 30);
    assert.equal(a.roundTripMs, 30);
    assert.equal(a.onThrottle(a.epoch), 30);
  });
});

describe('throttle budget (--concurrency auto)', () => {
  test('throttles do not count toward --max-attempts until the budget of time runs out', () => {
    let now = 0;
    const b = new ThrottleBudget(true, () => now);
    for (let i = 0; i < 50; i++) {
      now += 1000;
      assert.equal(b.onFailure(true, now - 10), 'free');
    }
    assert.equal(b.free, 50);
    assert.equal(b.streak, 50);
    assert.equal(b.onFailure(false, now), 'counted'); // another error ends the streak
    assert.equal(b.streak, 0);
    const start = now;
    assert.equal(b.onFailure(true, now), 'free');
    now = start + THROTTLE_BUDGET_MS;
    assert.equal(b.onFailure(true, now), 'spent');
    // Fixed concurrency: every throttle is an attempt like any other.
    const fixed = new ThrottleBudget(false, () => now);
    assert.equal(fixed.onFailure(true, now), 'counted');
  });

  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({ endpoints: { demo: {} } });
  });
  after(() => emu.close());

  const body = (t: string, i: number, times: number): string => JSON.stringify({ t, i, __emulator: { fault: 'throttle', times } });

  for (const adaptive of [true, false]) {
    test(`a record throttled 6 times with --max-attempts 3 ${adaptive ? 'succeeds (auto)' : 'fails (fixed concurrency)'}; the retry quota is not drawn for throttles in auto`, async () => {
      const h = pipelineHarness(emu.url, { concurrency: 4, defaults: { endpointName: 'demo', contentType: 'application/json' } });
      const t = `budget-${adaptive}`;
      const admission = adaptive
        ? (() => {
            const a = new AdaptiveConcurrency({ min: 1, max: 4 });
            return { adaptive: a, semaphore: new DynamicSemaphore(() => a.limit) };
          })()
        : {};
      const sleeps: number[] = [];
      try {
        const summary = await runPipeline({
          ...h.init,
          lines: latin1Lines([body(t, 1, 6), body(t, 2, 0)]),
          maxAttempts: 3,
          admission,
          random: () => 0.5,
          sleep: async (ms) => {
            sleeps.push(ms);
          },
        });
        const results = h.out
          .join('')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, any>);
        if (adaptive) {
          assert.deepEqual(
            results.map((r) => [r.line, r.ok, r.attempts]),
            [
              [1, true, 7],
              [2, true, 1],
            ],
          );
          assert.equal(summary.throttles, 6);
        } else {
          assert.deepEqual(
            results.map((r) => [r.line, r.ok, r.attempts, r.error?.code]),
            [
              [1, false, 3, 'ThrottlingException'],
              [2, true, 1, undefined],
            ],
          );
        }
      } finally {
        h.transport.close();
      }
    });
  }
});
