// retry.ts: backoff with injected randomness, server hints, the server clock (docs/wire.md §4.1, §1.3).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StandardRetryStrategy } from '@smithy/core/retry';
import {
  BASE_DELAY_MS,
  CLOCK_SKEW_THRESHOLD_MS,
  MAX_BACKOFF_MS,
  THROTTLING_BASE_DELAY_MS,
  retryAfterMs,
  retryDelay,
  serverTimeMs,
} from '../../../src/aws/retry.js';

const fixed = (r: number) => () => r;
/** Just below 1: the top of each jitter range. */
const TOP = 1 - Number.EPSILON;

describe('retryDelay: full jitter, floor(random() * min(base * 2^i, 20 s))', () => {
  test("constants are the JS SDK standard strategy's current ones (its 2026 retry behaviour)", () => {
    assert.equal(BASE_DELAY_MS, 50);
    assert.equal(THROTTLING_BASE_DELAY_MS, 1_000);
    assert.equal(MAX_BACKOFF_MS, 20_000);
  });

  // [retry, throttling, random, expected]
  const cases: Array<[number, boolean, number, number]> = [
    [0, false, 0, 0],
    [0, false, 0.5, 25],
    [0, false, TOP, 49],
    [1, false, TOP, 99],
    [2, false, 0.25, 50],
    [0, true, 0.5, 500],
    [0, true, TOP, 999],
    [1, true, TOP, 1_999],
    [4, true, 0.5, 8_000],
    [5, true, 0.5, 10_000], // 1 s * 32 = 32 s, capped at 20 s
    [8, false, TOP, 12_799],
    [9, false, TOP, 19_999], // 50 ms * 512 = 25.6 s, capped
    [40, true, TOP, 19_999], // no overflow for silly retry counts
  ];
  for (const [retry, throttling, r, want] of cases) {
    test(`retry ${retry}, ${throttling ? 'throttling' : 'transient'}, random ${r.toFixed(3)} -> ${want} ms`, () => {
      assert.equal(retryDelay(retry, throttling, fixed(r)), want);
    });
  }

  test('every delay is an integer inside [0, cap) over many seeded draws', () => {
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 2000; i++) {
      const retry = i % 10;
      const throttling = i % 3 === 0;
      const cap = Math.min((throttling ? 1_000 : 50) * 2 ** retry, 20_000);
      const d = retryDelay(retry, throttling, random);
      assert.ok(Number.isInteger(d) && d >= 0 && d < cap, `seed draw ${i}: ${d} not in [0, ${cap})`);
    }
  });

  test('random is drawn exactly once per delay', () => {
    let calls = 0;
    retryDelay(
      3,
      false,
      () => {
        calls++;
        return 0.3;
      },
      2_000,
    );
    assert.equal(calls, 1);
  });
});

describe('retryDelay with a server hint: max(computed, min(hint, computed + 5 s))', () => {
  const cases: Array<[string, number, number | undefined, number]> = [
    ['no hint', 0.5, undefined, 25],
    ['hint longer than computed wins', 0.5, 1_000, 1_000],
    ['hint shorter than computed is ignored', 0.5, 10, 25],
    ['hint is capped at computed + 5 s', 0.5, 60_000, 5_025],
    ['a hint in the past counts as 0', 0.5, -3_000, 25],
    ['NaN hint is ignored', 0.5, Number.NaN, 25],
    ['Infinity hint is ignored', 0.5, Number.POSITIVE_INFINITY, 25],
    ['hint with zero jitter', 0, 2_000, 2_000],
  ];
  for (const [name, r, hint, want] of cases) {
    test(name, () => assert.equal(retryDelay(0, false, fixed(r), hint), want));
  }
});

describe("retryDelay equals the SDK's own StandardRetryStrategy for the same random", () => {
  // The SDK computes its delay with Math.random and sleeps it with setTimeout: both are stood in for here,
  // and the delay it would sleep is read from its setTimeout call.
  const sdkDelays = async (kind: 'THROTTLING' | 'TRANSIENT', random: number, retries: number, hintMs?: number): Promise<number[]> => {
    const { random: realRandom } = Math;
    const realSetTimeout = globalThis.setTimeout;
    const realNow = Date.now;
    const NOW = 1_780_000_000_000;
    const slept: number[] = [];
    Math.random = () => random;
    Date.now = () => NOW;
    globalThis.setTimeout = ((fn: () => void, ms: number) => {
      slept.push(ms);
      queueMicrotask(fn);
    }) as unknown as typeof setTimeout;
    try {
      const strategy = new StandardRetryStrategy({ maxAttempts: retries + 1 });
      let token = await strategy.acquireInitialRetryToken('');
      for (let i = 0; i < retries; i++) {
        token = await strategy.refreshRetryTokenForRetry(token, {
          errorType: kind,
          ...(hintMs !== undefined ? { retryAfterHint: new Date(NOW + hintMs) } : {}),
        });
      }
    } finally {
      Math.random = realRandom;
      globalThis.setTimeout = realSetTimeout;
      Date.now = realNow;
    }
    return slept;
  };
  for (const [kind, random, hint] of [
    ['TRANSIENT', 0.9, undefined],
    ['THROTTLING', 0.9, undefined],
    ['TRANSIENT', 0.37, undefined],
    ['THROTTLING', TOP, undefined],
    ['TRANSIENT', 0.5, 1_500],
    ['THROTTLING', 0, 60_000],
    ['TRANSIENT', 0.5, -2_000],
  ] as const) {
    test(`${kind}, random ${random.toFixed(3)}${hint !== undefined ? `, hint ${hint} ms` : ''}: the same delays for 4 retries`, async () => {
      const ours = [0, 1, 2, 3].map((i) => retryDelay(i, kind === 'THROTTLING', fixed(random), hint));
      assert.deepEqual(await sdkDelays(kind, random, 4, hint), ours);
    });
  }
});

describe('retryAfterMs: the forms the SDK reads', () => {
  const NOW = Date.parse('2026-08-01T12:00:00Z');
  const cases: Array<[string, Record<string, string>, number | undefined]> = [
    ['none', {}, undefined],
    ['x-amz-retry-after is milliseconds', { 'x-amz-retry-after': '1500' }, 1_500],
    ['x-amz-retry-after with spaces', { 'x-amz-retry-after': ' 250 ' }, 250],
    ['x-amz-retry-after wins over retry-after', { 'x-amz-retry-after': '10', 'retry-after': '3' }, 10],
    ['a malformed x-amz-retry-after falls back to retry-after', { 'x-amz-retry-after': 'soon', 'retry-after': '3' }, 3_000],
    ['retry-after in seconds', { 'retry-after': '2' }, 2_000],
    ['retry-after in fractional seconds', { 'retry-after': '0.5' }, 500],
    ['retry-after as an HTTP date', { 'retry-after': 'Sat, 01 Aug 2026 12:00:07 GMT' }, 7_000],
    ['retry-after as an HTTP date in the past', { 'retry-after': 'Sat, 01 Aug 2026 11:59:58 GMT' }, -2_000],
    ['retry-after as "<date> GMT, <seconds>"', { 'retry-after': 'Sat, 01 Aug 2026 12:00:00 GMT, 4' }, 4_000],
    ['garbage retry-after', { 'retry-after': 'later please' }, undefined],
    ['negative seconds are not a form', { 'retry-after': '-1' }, undefined],
  ];
  for (const [name, headers, want] of cases) {
    test(name, () => assert.equal(retryAfterMs(headers, NOW), want));
  }

  test('a hint feeds retryDelay: "retry-after: 1" waits 1 s however small the jitter', () => {
    assert.equal(retryDelay(0, true, fixed(0.1), retryAfterMs({ 'retry-after': '1' }, NOW)), 1_000);
  });
});

describe('serverTimeMs: the Date header', () => {
  test('parses an HTTP date', () => {
    assert.equal(serverTimeMs({ date: 'Sat, 01 Aug 2026 12:00:00 GMT' }), Date.parse('2026-08-01T12:00:00Z'));
  });
  test('absent or unparseable: undefined', () => {
    assert.equal(serverTimeMs({}), undefined);
    assert.equal(serverTimeMs({ date: 'yesterday-ish' }), undefined);
  });
  test('the skew threshold is 5 minutes, as the SDKs', () => {
    assert.equal(CLOCK_SKEW_THRESHOLD_MS, 300_000);
  });
});
