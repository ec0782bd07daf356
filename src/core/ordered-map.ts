// A generic ordered, bounded, concurrent map over an AsyncIterable. No HTTP, no JSON.
//
// - At most `concurrency` calls of fn run at once.
// - Results come out in source order.
// - At most `window` items are started but not yet taken by the consumer, so a slow first item
//   holds back reading from the source, not memory (p-map's `backpressure`); with `maxBytes`, the
//   same holds in bytes (large results behind a stalled first item).
// - A source error is raised after every item pulled before it has been yielded.
// - If fn throws or rejects, that error is raised at that item's position.

export interface OrderedMapOptions<T = unknown, R = unknown> {
  concurrency: number;
  /** Started-but-unconsumed bound; defaults to 4 x concurrency. Must be >= concurrency. */
  window?: number;
  /**
   * Bytes bound over started-but-unconsumed items: an item is started only while the sizes of the
   * results waiting for the consumer, plus for each running item its input size and the mean result
   * size so far, stay within it (an item always starts when nothing else is pending, so a single item
   * larger than the bound still goes through). Needs `itemBytes` and `resultBytes`.
   */
  maxBytes?: number;
  itemBytes?: (item: T) => number;
  resultBytes?: (result: R) => number;
  /** Bytes held outside the items' own sizes, counted toward maxBytes (streams being received). */
  extraBytes?: () => number;
  /** Kept up to date with the bytes of results waiting and inputs running, when given (answer-budget.ts reads it). */
  meter?: { bytes: number };
  /** Called after the oldest item is let go of (its result taken by the consumer). */
  onConsumed?: () => void;
  /** Called each time the bytes bound (not concurrency) holds an item back, with the items running. */
  onBytesBound?: (running: number) => void;
}

type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };
/** A started item: its input's bytes while running, its result's once settled (with maxBytes). */
type Slot<R> = { settled?: Settled<R>; bytes: number };

export async function* orderedMap<T, R>(
  source: AsyncIterable<T>,
  fn: (item: T) => Promise<R> | R,
  options: OrderedMapOptions<T, R>,
): AsyncGenerator<R, void, undefined> {
  const { concurrency, maxBytes, itemBytes, resultBytes } = options;
  const window = options.window ?? concurrency * 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new TypeError(`concurrency must be an integer >= 1, got ${concurrency}`);
  if (!Number.isInteger(window) || window < concurrency) throw new TypeError(`window must be an integer >= concurrency (${concurrency}), got ${window}`);
  if (maxBytes !== undefined && (!(maxBytes > 0) || itemBytes === undefined || resultBytes === undefined)) {
    throw new TypeError(`maxBytes must be a number > 0 given with itemBytes and resultBytes, got ${maxBytes}`);
  }

  const it = source[Symbol.asyncIterator]();
  // Started items in order; each slot is filled when its call settles.
  const slots: Array<Slot<R>> = [];
  let running = 0;
  let pulling = false;
  let exhausted = false;
  let sourceError: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  // The bytes bound: an item pulled but not yet affordable waits here.
  let held: { item: T } | undefined;
  /** Settled results not yet consumed, plus the inputs of running items. */
  const meter = options.meter ?? { bytes: 0 };
  let resultsSeen = 0;
  let resultBytesSeen = 0;
  /** The mean result so far; before the first, an item's own size stands for its result's. */
  const meanResult = (size: number): number => (resultsSeen === 0 ? size : resultBytesSeen / resultsSeen);
  const affordable = (size: number): boolean =>
    maxBytes === undefined || slots.length === 0 || meter.bytes + (options.extraBytes?.() ?? 0) + size + (running + 1) * meanResult(size) <= maxBytes;

  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  const start = (item: T, inBytes: number): void => {
    const slot: Slot<R> = { bytes: inBytes };
    slots.push(slot);
    running++;
    meter.bytes += inBytes;
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
      if (maxBytes !== undefined) {
        // The input is let go of; the result is held until consumed.
        const out = settled.ok ? resultBytes!(settled.value) : 0;
        meter.bytes += out - slot.bytes;
        slot.bytes = out;
        resultsSeen++;
        resultBytesSeen += out;
      }
      pump();
      notify();
    };
    p.then(
      (value) => done({ ok: true, value }),
      (error: unknown) => done({ ok: false, error }),
    );
  };

  const pump = (): void => {
    if (pulling) return;
    if (running >= concurrency || slots.length >= window) return;
    if (held !== undefined) {
      const size = itemBytes!(held.item);
      if (!affordable(size)) {
        options.onBytesBound?.(running);
        return;
      }
      const { item } = held;
      held = undefined;
      start(item, size);
      pump();
      return;
    }
    if (exhausted || sourceError) return;
    pulling = true;
    it.next().then(
      (r) => {
        pulling = false;
        if (r.done) exhausted = true;
        else if (maxBytes === undefined) start(r.value, 0);
        else held = { item: r.value };
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
        meter.bytes -= head.bytes;
        options.onConsumed?.();
        pump();
        if (head.settled.ok) yield head.settled.value;
        else throw head.settled.error;
        continue;
      }
      if (head === undefined && !pulling && held === undefined && (exhausted || sourceError)) {
        if (sourceError) throw sourceError.error;
        return;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    exhausted = true; // stop pulling when the consumer leaves early
    if (!sourceError) await it.return?.();
  }
}
