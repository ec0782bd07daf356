// Reliability of pipeline.ts in-process, with the real signer and HTTP transport against the
// emulator; only the clock, the randomness and the sleep are injected, so the retry schedule
// (backoff, server hints, clock-skew correction, credential refresh) can be checked exactly.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../../../src/emulator/server.js';
import type { FieldValues } from '../../../src/core/fields.js';
import { runPipeline, type PipelineInit, type Summary } from '../../../src/core/pipeline.js';
import { INITIAL_RETRY_TOKENS, NO_RETRY_INCREMENT, Retry } from '@smithy/core/retry';
import { createRetryQuota } from '../../../src/aws/retry-quota.js';
import { parseTarget } from '../../../src/core/request.js';
import type { CredentialProvider } from '../../../src/aws/sign.js';
import { STATIC_CREDENTIALS, latin1Lines, pipelineHarness } from '../../helpers/pipeline.js';

let emu: Emulator;
before(async () => {
  emu = await startEmulator({ endpoints: { demo: {}, slow: { latencyMs: 150 } } });
});
after(() => emu.close());

const STATIC: CredentialProvider = STATIC_CREDENTIALS;

interface Run {
  results: Array<Record<string, any>>;
  summary: Summary;
  /** Every sleep the pipeline asked for, in order. */
  sleeps: number[];
  /** Emulator log entries of this run. */
  log: typeof emu.log;
}

/** Unique bodies per call, so the emulator's attempt counter starts at 1 for each record. */
let runId = 0;
const tag = (): string => `r${++runId}`;

async function run(lines: string[], extra: Partial<PipelineInit> & { credentials?: CredentialProvider; defaults?: FieldValues } = {}): Promise<Run> {
  const { credentials = STATIC, defaults = { endpointName: 'demo', contentType: 'application/json' }, ...rest } = extra;
  const concurrency = rest.concurrency ?? 4;
  const h = pipelineHarness(emu.url, { concurrency, defaults, credentials });
  const transport = h.transport;
  const out = h.out;
  const sleeps: number[] = [];
  // This run's requests: every body carries the run's tag (requests cancelled by an earlier test
  // may still be arriving).
  const tags = new Set(lines.map((l: string) => /"t":"(r\d+)"/.exec(l)?.[1]).filter(Boolean));
  try {
    const summary = await runPipeline({
      ...h.init,
      lines: latin1Lines(lines),
      random: () => 0.5,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      ...rest,
    });
    const results = out
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, any>);
    const log = emu.log.filter((e) => tags.has(/"t":"(r\d+)"/.exec(e.body.toString())?.[1]));
    return { results, summary, sleeps, log };
  } finally {
    transport.close();
  }
}

const body = (t: string, i: number, directive?: Record<string, unknown>): string => JSON.stringify({ t, i, ...(directive && { __emulator: directive }) });

describe('retry schedule', () => {
  test('transient errors: full jitter on 50 ms, doubling; the record succeeds on the third attempt', async () => {
    const t = tag();
    const r = await run([body(t, 1, { fault: 'internal', times: 2 })], { random: () => 0.9 });
    assert.deepEqual(r.sleeps, [45, 90]);
    assert.equal(r.results[0]!.ok, true);
    assert.equal(r.results[0]!.attempts, 3);
    assert.deepEqual(
      r.log.map((e) => e.status),
      [500, 500, 200],
    );
    assert.deepEqual([r.summary.attempts, r.summary.retries, r.summary.throttles], [3, 2, 0]);
  });

  test('throttling: full jitter on 1 s, doubling', async () => {
    const t = tag();
    const r = await run([body(t, 1, { fault: 'throttle', times: 2 })], { random: () => 0.9 });
    assert.deepEqual(r.sleeps, [900, 1800]);
    assert.equal(r.results[0]!.attempts, 3);
    assert.equal(r.summary.throttles, 2);
  });

  test('429 ModelNotReadyException is throttling', async () => {
    const r = await run([body(tag(), 1, { fault: 'not-ready', times: 1 })], { random: () => 0.9 });
    assert.deepEqual(r.sleeps, [900]);
    assert.equal(r.results[0]!.ok, true);
  });

  test('Retry-After (seconds) and x-amz-retry-after (ms) lengthen the wait, up to computed + 5 s', async () => {
    const t = tag();
    const r = await run(
      [
        body(t, 1, { fault: 'throttle', times: 1, retryAfter: 2 }),
        body(t, 2, { fault: 'unavailable', times: 1, retryAfterMs: 1500 }),
        body(t, 3, { fault: 'unavailable', times: 1, retryAfter: 3600 }),
      ],
      { concurrency: 1, random: () => 0 },
    );
    assert.deepEqual(r.sleeps, [2000, 1500, 5000]);
    assert.deepEqual(
      r.results.map((x) => x.ok),
      [true, true, true],
    );
  });

  test('the attempt bound holds: --max-attempts 5 means 5 requests, then the last error', async () => {
    const t = tag();
    const r = await run([body(t, 1, { fault: 'unavailable', times: 99 })], { maxAttempts: 5 });
    assert.equal(r.log.length, 5);
    assert.deepEqual(
      r.log.map((e) => e.attempt),
      [1, 2, 3, 4, 5],
    );
    const [res] = r.results;
    assert.equal(res!.ok, false);
    assert.equal(res!.attempts, 5);
    assert.equal(res!.error.code, 'ServiceUnavailable');
    assert.equal(res!.error.status, 503);
    assert.equal(r.sleeps.length, 4);
  });

  test('--max-attempts 1: no retry at all', async () => {
    const r = await run([body(tag(), 1, { fault: 'throttle', times: 1 })], { maxAttempts: 1 });
    assert.equal(r.log.length, 1);
    assert.equal(r.results[0]!.error.code, 'ThrottlingException');
    assert.equal(r.results[0]!.attempts, 1);
    assert.deepEqual(r.sleeps, []);
  });

  test('ModelError and ValidationError are never retried; --retry-model-errors retries ModelError only', async () => {
    const t = tag();
    const lines = [body(t, 1, { fault: 'model-error', times: 1 }), body(t, 2)];
    const plain = await run(lines, { concurrency: 1, defaults: { endpointName: 'demo', contentType: 'application/json', targetVariant: 'nope' } });
    assert.deepEqual(
      plain.results.map((x) => [x.error?.code, x.attempts]),
      [
        ['ValidationError', 1],
        ['ValidationError', 1],
      ],
    );

    const noRetry = await run([body(tag(), 1, { fault: 'model-error', times: 1 })]);
    assert.deepEqual([noRetry.results[0]!.error.code, noRetry.results[0]!.attempts, noRetry.log.length], ['ModelError', 1, 1]);

    const retry = await run([body(tag(), 1, { fault: 'model-error', times: 1 })], { retryModelErrors: true });
    assert.deepEqual([retry.results[0]!.ok, retry.results[0]!.attempts, retry.log.length], [true, 2, 2]);
  });

  test('InternalDependencyException (530) is retried', async () => {
    const r = await run([body(tag(), 1, { fault: 'dependency', times: 1 })]);
    assert.deepEqual([r.results[0]!.ok, r.results[0]!.attempts], [true, 2]);
  });

  test('a connection reset and a stalled response are retried; the stall is cut by the per-attempt timeout', async () => {
    const t = tag();
    const r = await run([body(t, 1, { fault: 'reset', times: 2 }), body(t, 2, { fault: 'stall', times: 1 })], { timeoutMs: 300 });
    assert.deepEqual(
      r.results.map((x) => [x.ok, x.attempts]),
      [
        [true, 3],
        [true, 2],
      ],
    );
    const exhausted = await run([body(tag(), 1, { fault: 'stall' })], { timeoutMs: 200 });
    assert.equal(exhausted.results[0]!.error.code, 'TimeoutError');
    assert.equal(exhausted.results[0]!.attempts, 3);
  });
});

describe("the retry quota (the SDK's StandardRetryStrategy: 500 tokens, 14 a retry, 5 after throttling, refilled by successes)", () => {
  const COST = Retry.cost();
  const THROTTLING_COST = Retry.throttlingCost();
  test("the SDK's values", () => {
    assert.deepEqual([INITIAL_RETRY_TOKENS, COST, THROTTLING_COST, NO_RETRY_INCREMENT], [500, 14, 5, 1]);
  });

  test('a burst of 5xx drains it: records beyond the quota fail after one attempt, and the run says so once', async () => {
    const t = tag();
    const warnings: string[] = [];
    const quota = await createRetryQuota();
    const r = await run(
      Array.from({ length: 30 }, (_, i) => body(t, i + 1, { fault: 'internal', times: 99 })),
      { concurrency: 1, retryQuota: quota, warn: (l) => warnings.push(l) },
    );
    // 500 tokens pay for 35 retries of 14: 17 records get their 2 retries (476), the 18th one (24 -> 10).
    const full = Math.floor(INITIAL_RETRY_TOKENS / (2 * COST));
    assert.equal(full, 17);
    assert.deepEqual(
      r.results.map((x) => x.attempts),
      [...Array<number>(full).fill(3), 2, ...Array<number>(30 - full - 1).fill(1)],
    );
    assert.ok(r.results.every((x) => !x.ok && x.error.code === 'InternalFailure' && x.error.status === 500));
    assert.equal(r.log.length, full * 3 + 2 + (30 - full - 1), 'no request beyond what the quota paid for');
    assert.equal(quota.capacity, INITIAL_RETRY_TOKENS - 35 * COST);
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(
      warnings[0]!,
      /^retry quota empty: retryable failures fail without a retry until successes refill it \(line 18: InternalFailure, attempt 2\)$/,
    );
    assert.equal(r.summary.retries, 35);
  });

  test("successes refill it: one token for a first-attempt success, the retry's cost back for a retried one", async () => {
    const quota = await createRetryQuota();
    const t = tag();
    // Drain it to 10 tokens (as above).
    await run(
      Array.from({ length: 18 }, (_, i) => body(t, i + 1, { fault: 'internal', times: 99 })),
      { concurrency: 1, retryQuota: quota },
    );
    assert.equal(quota.capacity, 10);
    const blocked = await run([body(tag(), 1, { fault: 'internal', times: 1 })], { retryQuota: quota });
    assert.deepEqual([blocked.results[0]!.ok, blocked.results[0]!.attempts], [false, 1], 'not retried: 10 < 14');
    const t2 = tag();
    await run(
      Array.from({ length: 4 }, (_, i) => body(t2, i + 1)),
      { concurrency: 1, retryQuota: quota },
    );
    assert.equal(quota.capacity, 10 + 4 * NO_RETRY_INCREMENT);
    const retried = await run([body(tag(), 1, { fault: 'internal', times: 1 })], { retryQuota: quota });
    assert.deepEqual([retried.results[0]!.ok, retried.results[0]!.attempts], [true, 2], 'paid with 14, and given back on success');
    assert.equal(quota.capacity, 14);
    // Never above 500.
    const fresh = await createRetryQuota();
    await run([body(tag(), 1)], { retryQuota: fresh });
    assert.equal(fresh.capacity, INITIAL_RETRY_TOKENS);
  });

  test('costs: 5 after throttling, 14 after any other retryable error, a timeout included', async () => {
    const quota = await createRetryQuota();
    await run([body(tag(), 1, { fault: 'throttle', times: 99 })], { retryQuota: quota });
    assert.equal(quota.capacity, INITIAL_RETRY_TOKENS - 2 * THROTTLING_COST);
    await run([body(tag(), 1, { fault: 'stall', times: 99 })], { retryQuota: quota, timeoutMs: 150 });
    assert.equal(
      quota.capacity,
      INITIAL_RETRY_TOKENS - 2 * THROTTLING_COST - 2 * COST,
      "a timeout costs 14 (the SDK's old TIMEOUT_RETRY_COST of 10 is no longer used)",
    );
    await run([body(tag(), 1, { fault: 'reset', times: 99 })], { retryQuota: quota });
    assert.equal(quota.capacity, INITIAL_RETRY_TOKENS - 2 * THROTTLING_COST - 4 * COST);
    await run([body(tag(), 1, { fault: 'model-error' })], { retryQuota: quota });
    assert.equal(quota.capacity, INITIAL_RETRY_TOKENS - 2 * THROTTLING_COST - 4 * COST, 'a final answer costs nothing and gives nothing back');
  });
});

describe("clock skew: corrected from the server's Date header, then retried (docs/wire.md §1.3)", () => {
  for (const [name, skewMs] of [
    ['our clock 10 minutes slow', -600_000],
    ['our clock 10 minutes fast', 600_000],
  ] as const) {
    test(name, async () => {
      const t = tag();
      const lines = Array.from({ length: 40 }, (_, i) => body(t, i));
      const r = await run(lines, { concurrency: 4, now: () => Date.now() + skewMs });
      assert.ok(
        r.results.every((x) => x.ok),
        JSON.stringify(r.results.find((x) => !x.ok)),
      );
      // Only the first wave (at most `concurrency` records) was signed with the wrong time.
      const skewed = r.log.filter((e) => e.status === 403);
      assert.ok(skewed.length >= 1 && skewed.length <= 4, `${skewed.length} rejected for skew`);
      assert.ok(skewed.every((e) => e.errorCode === 'InvalidSignatureException'));
      assert.equal(r.log.length, 40 + skewed.length);
      assert.ok(r.results.every((x) => x.attempts <= 2));
      assert.equal(r.results.filter((x) => x.attempts === 2).length, skewed.length);
    });
  }

  test('a skew of less than 5 minutes needs no correction', async () => {
    const r = await run([body(tag(), 1)], { now: () => Date.now() - 120_000 });
    assert.deepEqual([r.results[0]!.ok, r.results[0]!.attempts], [true, 1]);
  });
});

describe('credentials that expire mid-run', () => {
  test('ExpiredTokenException: one refresh shared by every record signed with the old key, then a retry', async () => {
    const past = Date.now() - 1000;
    emu.setConfig({
      credentials: [
        ...emu.config.credentials,
        { accessKeyId: 'ASIAOLDOLDOLDOLD', secretAccessKey: 'old-secret', sessionToken: 'old-token', expiresAt: past },
        { accessKeyId: 'ASIANEWNEWNEWNEW', secretAccessKey: 'new-secret', sessionToken: 'new-token' },
      ],
    });
    let current = { accessKeyId: 'ASIAOLDOLDOLDOLD', secretAccessKey: 'old-secret', sessionToken: 'old-token' };
    let refreshes = 0;
    const t = tag();
    const r = await run(
      Array.from({ length: 30 }, (_, i) => body(t, i)),
      {
        concurrency: 6,
        credentials: async () => current,
        refreshCredentials: async () => {
          refreshes++;
          await new Promise((res) => setTimeout(res, 20));
          current = { accessKeyId: 'ASIANEWNEWNEWNEW', secretAccessKey: 'new-secret', sessionToken: 'new-token' };
        },
      },
    );
    assert.ok(
      r.results.every((x) => x.ok),
      JSON.stringify(r.results.find((x) => !x.ok)),
    );
    assert.equal(refreshes, 1);
    assert.ok(r.summary.stoppedBy === undefined);
    const expired = r.log.filter((e) => e.errorCode === 'ExpiredTokenException');
    assert.ok(expired.length >= 1 && expired.length <= 6, `${expired.length} expired`);
  });

  test('a refresh that brings back expired keys: fatal after one retry per in-flight record', async () => {
    emu.setConfig({
      credentials: [...emu.config.credentials, { accessKeyId: 'ASIADEADDEADDEAD', secretAccessKey: 's', sessionToken: 't', expiresAt: Date.now() - 1000 }],
    });
    let refreshes = 0;
    const t = tag();
    const r = await run(
      Array.from({ length: 200 }, (_, i) => body(t, i)),
      {
        concurrency: 4,
        credentials: async () => ({ accessKeyId: 'ASIADEADDEADDEAD', secretAccessKey: 's', sessionToken: 't' }),
        refreshCredentials: async () => {
          refreshes++;
        },
      },
    );
    assert.equal(r.summary.stoppedBy, 'fatal');
    assert.equal(r.summary.fatal?.code, 'ExpiredTokenException');
    assert.equal(r.results.length, 0);
    assert.equal(refreshes, 1);
    assert.ok(r.log.length <= 8, `${r.log.length} requests`);
  });
});

describe('stopping', () => {
  test('stop (SIGTERM): no new records; in-flight ones finish within the grace period and are written in order', async () => {
    const t = tag();
    const stop = new AbortController();
    const lines = Array.from({ length: 200 }, (_, i) => body(t, i));
    const p = run(lines, { concurrency: 4, defaults: { endpointName: 'slow' }, stop: stop.signal, graceMs: 5_000 });
    setTimeout(() => stop.abort(), 400);
    const r = await p;
    assert.equal(r.summary.stoppedBy, 'stop');
    assert.ok(r.results.length >= 4 && r.results.length < 200, `${r.results.length} written`);
    assert.deepEqual(
      r.results.map((x) => x.line),
      r.results.map((_, i) => i + 1),
    );
    assert.ok(r.results.every((x) => x.ok));
    // Everything that was sent was answered and written: nothing cut.
    assert.equal(r.log.length, r.results.length);
  });

  test('stop with a grace period that runs out: in-flight requests are cancelled, the written prefix is real', async () => {
    const t = tag();
    const stop = new AbortController();
    const lines = [body(t, 0), body(t, 1, { latencyMs: 5_000 }), body(t, 2)];
    const started = Date.now();
    const p = run(lines, { concurrency: 3, stop: stop.signal, graceMs: 100 });
    setTimeout(() => stop.abort(), 100);
    const r = await p;
    assert.ok(Date.now() - started < 3_000, 'did not wait for the slow record');
    assert.deepEqual(
      r.results.map((x) => [x.line, x.ok]),
      [[1, true]],
    );
  });

  test('stop "now" (EPIPE): cancels at once', async () => {
    const stop = new AbortController();
    const p = run([body(tag(), 0, { latencyMs: 5_000 })], { stop: stop.signal, graceMs: 10_000 });
    const started = Date.now();
    setTimeout(() => stop.abort('now'), 50);
    const r = await p;
    assert.ok(Date.now() - started < 3_000);
    assert.equal(r.results.length, 0);
  });
});

describe('keep-alive', () => {
  test('a server that closes a kept-alive connection as the next request arrives: retried, never a failure', async () => {
    // A plain HTTP server standing in for a load balancer's idle timeout racing our reuse of the
    // socket: the first request on a connection is proxied to the emulator, any later one is
    // answered by closing the connection (undici: UND_ERR_SOCKET "other side closed").
    const used = new WeakSet<object>();
    let closed = 0;
    const lb = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
      if (used.has(req.socket)) {
        closed++;
        req.socket.destroy();
        return;
      }
      used.add(req.socket);
      // Forward byte for byte (the host header is signed), on a fresh connection each time.
      const up = request({ host: '127.0.0.1', port: emu.port, method: req.method, path: req.url, headers: req.headers, agent: false }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      });
      req.pipe(up);
    });
    lb.listen(0, '127.0.0.1');
    await once(lb, 'listening');
    try {
      const port = (lb.address() as AddressInfo).port;
      const t = tag();
      // One at a time, so the sequence is exact: each record after the first goes out on the kept-alive
      // socket, which the server closes; the retry gets a new connection and succeeds.
      const r = await run(
        Array.from({ length: 10 }, (_, i) => body(t, i)),
        {
          concurrency: 1,
          target: parseTarget(`http://127.0.0.1:${port}`),
        },
      );
      assert.deepEqual(
        r.results.map((x) => [x.ok, x.attempts]),
        [[true, 1], ...Array.from({ length: 9 }, () => [true, 2])],
      );
      assert.equal(closed, 9);
      assert.deepEqual(r.sleeps.length, 9);
    } finally {
      lb.closeAllConnections();
      lb.close();
    }
  });
});
