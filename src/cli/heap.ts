// V8's heap, sized for a long streaming run (flat and small at a million records: `npm run bench`, scenario 3).
//
// A run allocates tens of KB per record (most of it inside @smithy/signature-v4) and keeps little.
// With V8's defaults the young generation still grows to two 16 MiB semi-spaces and the old
// generation to 2-3x its live size, so a third of the RSS is garbage waiting to be collected. Two V8
// settings, set at run time:
// - the young generation grows as usual up to two 4 MiB semi-spaces, then stops growing
//   (--semi-space-growth-factor=1 once it is that big, back to 2 if V8 shrinks it on a quiet spell);
// - the old generation's limit is its live size + 20% (--heap-growing-percent), not 2-3x;
// - both are lifted while records average over 256 KiB (see LARGE_RECORD_BYTES).
// Measured (docs/benchmarks.md, scenario 3): a third less peak RSS at unchanged CPU per record; a
// smaller young generation cost CPU (a scavenge every few dozen records) for little more.
//
// Both flags are read by V8 each time it resizes a space, so changing them after start-up is
// well-defined; `--max-semi-space-size` would have to be given before the heap exists, which a
// single executable cannot do (NODE_OPTIONS is the user's).
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

/** Both semi-spaces together, as v8.getHeapSpaceStatistics() reports new_space. */
export const NEW_SPACE_CAP_BYTES = 8 * 1024 * 1024;
export const HEAP_GROWING_PERCENT = 20;
/**
 * Records above this mean size get V8's defaults back. Their line strings are V8 large objects, and
 * with a small young generation those are allocated old: with the old generation kept tight that is
 * a full GC every few records (1 MiB records: +30% CPU). 256 KiB records cost nothing measurable.
 */
export const LARGE_RECORD_BYTES = 256 * 1024;

export interface HeapBoundOptions {
  /** Mean input record size so far (0 before the first). */
  meanRecordBytes?: () => number;
}

/** Applies the limits for the rest of the process; returns a function that stops watching. */
export function boundHeap(options: HeapBoundOptions = {}): () => void {
  let growing = true;
  let tight = false;
  const check = (): void => {
    const large = (options.meanRecordBytes?.() ?? 0) > LARGE_RECORD_BYTES;
    if (tight !== !large) {
      tight = !large;
      // 0 is V8's own default: its dynamic growing factor.
      v8.setFlagsFromString(`--heap-growing-percent=${tight ? HEAP_GROWING_PERCENT : 0}`);
    }
    const grow = large || newSpaceBytes() < NEW_SPACE_CAP_BYTES;
    if (grow === growing) return;
    growing = grow;
    v8.setFlagsFromString(`--semi-space-growth-factor=${grow ? 2 : 1}`);
  };
  // After each GC: V8 resizes its spaces only during one. The observer runs on a later turn of the
  // event loop, which a run reaches between records; one look at the heap statistics per scavenge
  // (every few hundred records).
  const observer = new PerformanceObserver(check);
  observer.observe({ entryTypes: ['gc'] });
  check();
  return () => observer.disconnect();
}

export function newSpaceBytes(): number {
  for (const s of v8.getHeapSpaceStatistics()) if (s.space_name === 'new_space') return s.space_size;
  return 0;
}
