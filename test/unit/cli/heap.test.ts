// heap.ts: the young generation stops growing at its cap, and grows as V8 likes without it.
// V8 flags are per process, so each case runs in its own child process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const heapModule = fileURLToPath(new URL('../../../src/cli/heap.js', import.meta.url));

// Allocation with survivors (a rolling window of live objects), which is what makes V8 grow its
// young generation. The loop yields often, as a run does between records, so that the GC observer
// runs between scavenges (a long burst without yielding can grow past the cap by one step).
const CHILD = `
const { boundHeap, newSpaceBytes, NEW_SPACE_CAP_BYTES } = await import(${JSON.stringify(heapModule)});
const mode = process.argv[1];
const stop = mode === 'free' ? () => {} : boundHeap({ meanRecordBytes: () => (mode === 'large' ? 1 << 20 : 200) });
const keep = new Array(20000);
let max = 0;
for (let i = 0; i < 1_500_000; i++) {
  keep[i % keep.length] = { i, s: 'x' + i, a: [i, i + 1] };
  if (i % 2000 === 0) { await new Promise((r) => setImmediate(r)); max = Math.max(max, newSpaceBytes()); }
}
stop();
process.stdout.write(JSON.stringify({ max, cap: NEW_SPACE_CAP_BYTES }));
`;

function run(mode: 'bound' | 'free' | 'large'): { max: number; cap: number } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD, mode], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { max: number; cap: number };
}

test('boundHeap keeps the young generation at its cap under allocation with survivors', () => {
  const bound = run('bound');
  assert.ok(bound.max <= bound.cap, `new space reached ${bound.max} bytes, cap ${bound.cap}`);
  assert.ok(bound.max >= bound.cap / 2, `new space stayed at ${bound.max} bytes: it should still grow up to the cap`);
  // The same load without it: V8 grows past the cap, so the case above is a real test of the bound.
  const free = run('free');
  assert.ok(free.max > bound.cap, `without boundHeap new space reached only ${free.max} bytes`);
});

test("records averaging over LARGE_RECORD_BYTES get V8's own sizing back", () => {
  const large = run('large');
  assert.ok(large.max > large.cap, `with 1 MiB records new space stayed at ${large.max} bytes`);
});
