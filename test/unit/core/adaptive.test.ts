// --concurrency auto and --rate wired through the pipeline, against the emulator's capacity model.
// The control law itself is tested deterministically in limiter.test.ts; here: the wiring.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEmulator, type Emulator } from '../../../src/emulator/server.js';
import { AdaptiveConcurrency, DynamicSemaphore, RateLimiter } from '../../../src/core/limiter.js';
import { runPipeline, type Admission, type AttemptInfo } from '../../../src/core/pipeline.js';
import { ndjson, runCli } from '../../helpers/cli.js';
import { latin1Lines, pipelineHarness } from '../../helpers/pipeline.js';

const K = 6;
let emu: Emulator;
before(async () => {
  emu = await startEmulator({
    logLimit: 0,
    endpoints: { capped: { variants: [{ name: 'AllTraffic' }], maxConcurrency: K, latencyMs: 15 } },
  });
});
after(() => emu.close());

async function run(n: number, concurrency: number, admission: Admission, onAttempt?: (a: AttemptInfo) => void) {
  const h = pipelineHarness(emu.url, { concurrency, defaults: { endpointName: 'capped' } });
  try {
    const summary = await runPipeline({
      ...h.init,
      lines: latin1Lines(Array.from({ length: n }, (_, i) => `{"i":${i}}`)),
      maxAttempts: 8,
      random: () => 0.1,
      admission,
      ...(onAttempt ? { onAttempt } : {}),
    });
    return { out: h.out, summary };
  } finally {
    h.transport.close();
  }
}

test('auto: attempts in flight never exceed the adaptive limit; it backs off to the capacity; nothing is lost', async () => {
  emu.reset();
  const adaptive = new AdaptiveConcurrency({ min: 1, max: 64 });
  const semaphore = new DynamicSemaphore(() => adaptive.limit);
  let maxSeenOverLimit = 0;
  const { out, summary } = await run(300, 64, { adaptive, semaphore }, () => {
    maxSeenOverLimit = Math.max(maxSeenOverLimit, semaphore.active - Math.max(adaptive.limit, 1));
  });
  assert.equal(out.length, 300);
  assert.ok(
    out.every((l, i) => (JSON.parse(l) as { line: number; ok: boolean }).line === i + 1 && JSON.parse(l).ok),
    'all ok, in order',
  );
  assert.equal(summary.ok, 300);
  assert.ok(adaptive.stats.throttles > 0, 'slow start found the capacity by being throttled');
  assert.ok(adaptive.limit <= 2 * K, `limit ${adaptive.limit} did not come down towards the capacity ${K}`);
  assert.ok(emu.stats().maxInFlight <= 64);
  // Every request the emulator saw beyond K in flight was throttled and retried: attempts = ok + throttles.
  assert.equal(summary.attempts, summary.ok + summary.throttles);
});

test('auto: a throttle cuts the limit before its slot is freed, so two throttle cuts always have a success between them', async () => {
  emu.reset();
  // The log of what the controller heard: 'S' a success, 'C' a throttle that cut the limit.
  const heard: string[] = [];
  class Recording extends AdaptiveConcurrency {
    override onSuccess(epoch: number, latencyMs: number): void {
      heard.push('S');
      super.onSuccess(epoch, latencyMs);
    }
    override onThrottle(epoch: number): number {
      const before = this.stats.decreases;
      const rest = super.onThrottle(epoch);
      if (this.stats.decreases > before) heard.push('C');
      return rest;
    }
  }
  const adaptive = new Recording({ min: 1, max: 64 });
  const semaphore = new DynamicSemaphore(() => adaptive.limit);
  const { summary } = await run(400, 64, { adaptive, semaphore });
  assert.equal(summary.ok, 400);
  assert.ok(summary.throttles > 0, 'the capacity was found by being throttled');
  // Freeing the throttled attempt's slot first let a waiter in at once, into the still-full endpoint:
  // throttled too, and counted as news about the new limit, it cut again (C C), then again.
  const log = heard.join('');
  assert.ok(!log.includes('CC'), `consecutive cuts without a success between: ${log.replace(/S+/g, 'S')}`);
});

test("auto: a throttled record is retried before newer records and backs off from the round trip, not the SDK's 1 s", async () => {
  emu.reset();
  const adaptive = new AdaptiveConcurrency({ min: 1, max: 1 });
  const semaphore = new DynamicSemaphore(() => adaptive.limit);
  const h = pipelineHarness(emu.url, { concurrency: 4, defaults: { endpointName: 'capped' } });
  const order: string[] = [];
  const sleeps: number[] = [];
  try {
    const lines = [JSON.stringify({ i: 1, __emulator: { fault: 'throttle', times: 1 } }), ...[2, 3, 4, 5].map((i) => `{"i":${i}}`)];
    const summary = await runPipeline({
      ...h.init,
      lines: latin1Lines(lines),
      admission: { adaptive, semaphore },
      random: () => 0.1,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      onAttempt: (a) => order.push(`${a.line}.${a.attempt}`),
    });
    assert.equal(summary.ok, 5);
    // Records 2-4 were already waiting for the one slot when line 1 was throttled; its retry went first
    // after the next answer (FIFO, it would have waited for 3 and 4: its record holds back the output).
    assert.deepEqual(order, ['1.1', '2.1', '1.2', '3.1', '4.1', '5.1']);
    // The throttled slot rested a round trip (50 ms before any answer), the record backed off
    // floor(0.1 x 50) ms from it (the SDK's throttling backoff would be floor(0.1 x 1000) = 100 ms).
    assert.deepEqual(sleeps, [50, 5]);
  } finally {
    h.transport.close();
  }
});

test('rate: every attempt, retries included, takes a token; starts are evenly spaced on the injected clock', async () => {
  emu.reset();
  let fake = 0;
  const starts: number[] = [];
  const rate = new RateLimiter(
    50,
    () => fake,
    async (ms) => {
      fake += ms;
    },
  );
  const wrapped: Admission = {
    rate: {
      take: async (signal?: AbortSignal) => {
        await rate.take(signal);
        starts.push(fake);
      },
    } as unknown as RateLimiter,
  };
  const { summary } = await run(40, 4, wrapped);
  assert.equal(summary.ok, 40);
  assert.equal(starts.length, summary.attempts);
  const sorted = [...starts].sort((a, b) => a - b);
  sorted.slice(1).forEach((t, i) => {
    assert.ok(t - sorted[i]! >= 20 - 1e-9, `starts ${sorted[i]} and ${t} closer than 1/50 s`);
  });
});

test('the CLI: --concurrency auto and --rate run to completion; bad values are usage errors', async () => {
  const input = ndjson(Array.from({ length: 60 }, (_, i) => ({ i })));
  const auto = await runCli(
    ['--endpoint-url', emu.url, '--endpoint-name', 'capped', '--concurrency', 'auto', '--max-concurrency', '32', '--max-attempts', '10', '--stats'],
    { input },
  );
  assert.equal(auto.code, 0, auto.stderr);
  assert.equal(auto.lines.length, 60);
  assert.match(auto.stderr, /concurrency \d+/);
  const rated = await runCli(['--endpoint-url', emu.url, '--endpoint-name', 'capped', '--rate', '200', '--concurrency', '4'], { input });
  assert.equal(rated.code, 0, rated.stderr);
  for (const [args, message] of [
    [['--concurrency', 'fast'], /--concurrency must be a whole number from 1 to 1024 or "auto", got "fast"/],
    [['--max-concurrency', '8'], /--max-concurrency goes with --concurrency auto/],
    [['--rate', '0'], /--rate must be a number of records per second above 0/],
    [['--rate', 'x'], /--rate must be a number/],
  ] as const) {
    const r = await runCli(['--endpoint-name', 'e', ...args], { input: '' });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
  }
});
