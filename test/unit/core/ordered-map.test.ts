// ordered-map.ts: order, the in-flight bound, the window bound, errors, early exit — as properties
// over seeded random completion orders, driven by deferred promises (no timers).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '../../../src/emulator/prng.js';
import { orderedMap } from '../../../src/core/ordered-map.js';

async function* range(n: number, onPull?: (i: number) => void): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) {
    onPull?.(i);
    yield i;
  }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Runs orderedMap where a seeded scheduler decides which pending call finishes next. */
async function scenario(seed: number, n: number, concurrency: number, window: number) {
  const random = mulberry32(seed);
  const pending: Array<{ i: number; resolve: (v: string) => void }> = [];
  let running = 0;
  let maxRunning = 0;
  let pulled = 0;
  let consumed = 0;
  let maxAhead = 0;
  const calls: number[] = [];
  const out: string[] = [];
  const fn = (i: number): Promise<string> => {
    calls.push(i);
    running++;
    maxRunning = Math.max(maxRunning, running);
    return new Promise((resolve) =>
      pending.push({
        i,
        resolve: (v) => {
          running--;
          resolve(v);
        },
      }),
    );
  };
  const consumer = (async () => {
    for await (const v of orderedMap(
      range(n, () => {
        pulled++;
        maxAhead = Math.max(maxAhead, pulled - consumed);
      }),
      fn,
      { concurrency, window },
    )) {
      out.push(v);
      consumed++;
    }
  })();
  let done = false;
  void consumer.then(() => {
    done = true;
  });
  while (!done) {
    await tick();
    if (pending.length > 0) {
      const k = Math.floor(random() * pending.length);
      const [p] = pending.splice(k, 1);
      p!.resolve(`r${p!.i}`);
    }
  }
  await consumer;
  return { out, calls, maxRunning, maxAhead };
}

test('order, exactly one call per item, in-flight and window bounds — 200 seeds', async () => {
  for (let seed = 1; seed <= 200; seed++) {
    const n = 1 + ((seed * 7) % 60);
    const concurrency = 1 + (seed % 8);
    const window = concurrency + (seed % 5) * 3;
    const r = await scenario(seed, n, concurrency, window);
    const msg = `seed ${seed} (n=${n} c=${concurrency} w=${window})`;
    assert.deepEqual(
      r.out,
      Array.from({ length: n }, (_, i) => `r${i}`),
      `order, ${msg}`,
    );
    assert.deepEqual(
      [...r.calls].sort((a, b) => a - b),
      Array.from({ length: n }, (_, i) => i),
      `one call each, ${msg}`,
    );
    assert.ok(r.maxRunning <= concurrency, `in flight ${r.maxRunning} > ${concurrency}, ${msg}`);
    assert.ok(r.maxAhead <= window + 1, `read ahead ${r.maxAhead} > window ${window} + 1, ${msg}`);
  }
});

test('a slow first item holds back reading, not memory', async () => {
  let pulled = 0;
  let releaseFirst!: (v: number) => void;
  const first = new Promise<number>((r) => {
    releaseFirst = r;
  });
  const it = orderedMap(
    range(1000, () => {
      pulled++;
    }),
    (i) => (i === 0 ? first : Promise.resolve(i)),
    { concurrency: 4, window: 10 },
  );
  const firstOut = it.next();
  for (let k = 0; k < 50; k++) await tick();
  assert.ok(pulled <= 11, `pulled ${pulled} items while the first was pending (window 10)`);
  releaseFirst(0);
  assert.equal((await firstOut).value, 0);
  let count = 1;
  for await (const _ of it) count++;
  assert.equal(count, 1000);
});

test('a bytes bound: results waiting behind a slow first item, plus what is running, stay within it — 100 seeds', async () => {
  for (let seed = 1; seed <= 100; seed++) {
    const random = mulberry32(seed);
    const n = 30 + (seed % 40);
    const maxBytes = 1000;
    // Item i weighs 50-250 bytes in and 100-300 out; the first is held until the others are done.
    const inBytes = Array.from({ length: n }, () => 50 + Math.floor(random() * 200));
    const outBytes = Array.from({ length: n }, () => 100 + Math.floor(random() * 200));
    const pending: Array<{ i: number; resolve: () => void }> = [];
    let releaseFirst!: () => void;
    let live = 0; // bytes of inputs running + results not yet consumed
    let peak = 0;
    let boundCalls = 0;
    const fn = (i: number): Promise<number> => {
      live += inBytes[i]!;
      peak = Math.max(peak, live);
      return new Promise((resolve) => {
        const settle = (): void => {
          live += outBytes[i]! - inBytes[i]!;
          peak = Math.max(peak, live);
          resolve(i);
        };
        if (i === 0) releaseFirst = settle;
        else pending.push({ i, resolve: settle });
      });
    };
    const out: number[] = [];
    const consumer = (async () => {
      const options = {
        concurrency: 16,
        maxBytes,
        itemBytes: (i: number) => inBytes[i]!,
        resultBytes: (i: number) => outBytes[i]!,
        onBytesBound: () => {
          boundCalls++;
        },
      };
      for await (const v of orderedMap(range(n), fn, options)) {
        out.push(v);
        live -= outBytes[v]!;
      }
    })();
    let done = false;
    void consumer.then(() => {
      done = true;
    });
    for (let k = 0; !done && k < 10_000; k++) {
      await tick();
      if (pending.length > 0) pending.splice(Math.floor(random() * pending.length), 1)[0]!.resolve();
      else if (k > 50) releaseFirst();
    }
    await consumer;
    const msg = `seed ${seed} (n=${n})`;
    assert.deepEqual(
      out,
      Array.from({ length: n }, (_, i) => i),
      `order, ${msg}`,
    );
    // Answers are estimated by the mean so far, so the bound holds within that estimate's error; all
    // of them together (unbounded) would be 3,000 bytes or more.
    assert.ok(peak <= 1.5 * maxBytes, `peak ${peak} bytes > 1.5 x ${maxBytes}, ${msg}`);
    assert.ok(boundCalls > 0, `the bound held items back, ${msg}`);
  }
});

test('a single item larger than the bytes bound still goes through', async () => {
  const out: number[] = [];
  for await (const v of orderedMap(range(5), (i) => Promise.resolve(i), { concurrency: 4, maxBytes: 10, itemBytes: () => 100, resultBytes: () => 100 }))
    out.push(v);
  assert.deepEqual(out, [0, 1, 2, 3, 4]);
});

test('synchronous results and throws keep their positions', async () => {
  const out: unknown[] = [];
  await assert.rejects(async () => {
    for await (const v of orderedMap(
      range(5),
      (i) => {
        if (i === 3) throw new Error('boom at 3');
        return i * 10;
      },
      { concurrency: 2 },
    ))
      out.push(v);
  }, /boom at 3/);
  assert.deepEqual(out, [0, 10, 20]);
});

test('a source error comes after every item read before it', async () => {
  async function* failing(): AsyncGenerator<number> {
    yield 1;
    yield 2;
    throw new Error('read failed');
  }
  const out: number[] = [];
  await assert.rejects(async () => {
    for await (const v of orderedMap(failing(), async (i) => i, { concurrency: 3 })) out.push(v);
  }, /read failed/);
  assert.deepEqual(out, [1, 2]);
});

test('empty source; breaking early closes the source', async () => {
  for await (const _ of orderedMap(range(0), (i) => i, { concurrency: 2 })) assert.fail('no items');
  let closed = false;
  async function* src(): AsyncGenerator<number> {
    try {
      for (let i = 0; ; i++) yield i;
    } finally {
      closed = true;
    }
  }
  for await (const v of orderedMap(src(), async (i) => i, { concurrency: 2 })) if (v === 5) break;
  assert.equal(closed, true);
});

test('options are checked', async () => {
  await assert.rejects(orderedMap(range(1), (i) => i, { concurrency: 0 }).next(), /concurrency must be an integer >= 1, got 0/);
  await assert.rejects(orderedMap(range(1), (i) => i, { concurrency: 4, window: 2 }).next(), /window must be an integer >= concurrency \(4\), got 2/);
});
