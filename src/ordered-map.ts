// A generic ordered, bounded, concurrent map over an AsyncIterable. No HTTP, no JSON.
//
// - At most `concurrency` calls of fn run at once.
// - Results come out in source order.
// - At most `window` items are started but not yet taken by the consumer, so a slow first item
//   holds back reading from the source, not memory (p-map's `backpressure`).
// - A source error is raised after every item pulled before it has been yielded.
// - If fn throws or rejects, that error is raised at that item's position.

export interface OrderedMapOptions {
  concurrency: number;
  /** Started-but-unconsumed bound; defaults to 4 x concurrency. Must be >= concurrency. */
  window?: number;
}

type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

export async function* orderedMap<T, R>(
  source: AsyncIterable<T>,
  fn: (item: T) => Promise<R> | R,
  options: OrderedMapOptions,
): AsyncGenerator<R, void, undefined> {
  const { concurrency } = options;
  const window = options.window ?? concurrency * 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new TypeError(`concurrency must be an integer >= 1, got ${concurrency}`);
  if (!Number.isInteger(window) || window < concurrency) throw new TypeError(`window must be an integer >= concurrency (${concurrency}), got ${window}`);

  const it = source[Symbol.asyncIterator]();
  // Started items in order; each slot is filled when its call settles.
  const slots: Array<{ settled?: Settled<R> }> = [];
  let running = 0;
  let pulling = false;
  let exhausted = false;
  let sourceError: { error: unknown } | undefined;
  let wake: (() => void) | undefined;

  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  const start = (item: T): void => {
    const slot: { settled?: Settled<R> } = {};
    slots.push(slot);
    running++;
    let p: Promise<R>;
    try {
      p = Promise.resolve(fn(item));
    } catch (error) {
      p = Promise.reject(error);
    }
    // One reaction per item (no .finally(): that is two more promises and microtask turns per record).
    const done = (settled: Settled<R>): void => {
      slot.settled = settled;
      running--;
      pump();
      notify();
    };
    p.then((value) => done({ ok: true, value }), (error: unknown) => done({ ok: false, error }));
  };

  const pump = (): void => {
    if (pulling || exhausted || sourceError) return;
    if (running >= concurrency || slots.length >= window) return;
    pulling = true;
    it.next().then(
      (r) => {
        pulling = false;
        if (r.done) exhausted = true;
        else start(r.value);
        pump();
        notify();
      },
      (error: unknown) => {
        pulling = false;
        sourceError = { error };
        notify();
      },
    );
  };

  try {
    pump();
    for (;;) {
      const head = slots[0];
      if (head?.settled) {
        slots.shift();
        pump();
        if (head.settled.ok) yield head.settled.value;
        else throw head.settled.error;
        continue;
      }
      if (head === undefined && !pulling && (exhausted || sourceError)) {
        if (sourceError) throw sourceError.error;
        return;
      }
      await new Promise<void>((resolve) => { wake = resolve; });
    }
  } finally {
    exhausted = true; // stop pulling when the consumer leaves early
    if (!sourceError) await it.return?.();
  }
}
