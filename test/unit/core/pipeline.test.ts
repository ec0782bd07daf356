// pipeline.ts in-process with the real signer and HTTP transport against the emulator:
// ordering and bounds as properties over seeded random latencies.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEmulator, type Emulator } from '../../../src/emulator/server.js';
import { runPipeline, type PipelineInit, type Summary } from '../../../src/core/pipeline.js';
import { mulberry32 } from '../../../src/emulator/prng.js';
import { latin1Lines, pipelineHarness } from '../../helpers/pipeline.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
let emu: Emulator;
before(async () => {
  emu = await startEmulator({ logLimit: 0 }, { now: () => NOW });
});
after(() => emu.close());

async function run(bodies: string[], concurrency: number, extra: Partial<PipelineInit> = {}): Promise<{ out: string[]; summary: Summary }> {
  const h = pipelineHarness(emu.url, { concurrency, defaults: { endpointName: 'demo', contentType: 'application/json' } });
  try {
    const summary = await runPipeline({ ...h.init, lines: latin1Lines(bodies), now: () => NOW, random: () => 0, ...extra });
    return { out: h.out, summary };
  } finally {
    h.transport.close();
  }
}

test('output line i answers input record i, one request each, in-flight within the limit — 25 seeds', async () => {
  for (let seed = 1; seed <= 25; seed++) {
    const random = mulberry32(seed);
    const n = 20 + Math.floor(random() * 30);
    const concurrency = 1 + Math.floor(random() * 8);
    const bodies = Array.from({ length: n }, (_, i) => JSON.stringify({ i, __emulator: { latencyMs: Math.floor(random() * 15) } }));
    emu.reset();
    const { out, summary } = await run(bodies, concurrency);
    const msg = `seed ${seed} (n=${n}, concurrency=${concurrency})`;
    assert.equal(out.length, n, msg);
    out.forEach((line, k) => {
      const r = JSON.parse(line) as { line: number; ok: boolean; body: { body: string } };
      assert.equal(r.line, k + 1, msg);
      assert.equal(r.ok, true, msg);
      assert.equal((JSON.parse(r.body.body) as { i: number }).i, k, msg);
    });
    const stats = emu.stats();
    assert.equal(stats.requests, n, `one request per record, ${msg}`);
    assert.ok(stats.maxInFlight <= concurrency, `emulator saw ${stats.maxInFlight} in flight > ${concurrency}, ${msg}`);
    assert.equal(summary.ok, n);
    assert.equal(summary.attempts, n);
  }
});

test('a slow first record holds back reading, not memory', async () => {
  emu.reset();
  const concurrency = 4;
  const bodies = Array.from({ length: 400 }, (_, i) => JSON.stringify({ i, __emulator: { latencyMs: i === 0 ? 400 : 0 } }));
  let pulled = 0;
  let pulledAtFirstWrite = -1;
  const out: string[] = [];
  const { summary } = await run([], concurrency, {
    lines: latin1Lines(bodies, (n) => {
      pulled = n;
    }),
    write: (t) => {
      if (pulledAtFirstWrite < 0) pulledAtFirstWrite = pulled;
      out.push(typeof t === 'string' ? t : t.join(''));
    },
  });
  assert.equal(out.length, 400);
  assert.equal(summary.ok, 400);
  // The window is 4 x concurrency started-but-unwritten records, plus one line read ahead.
  assert.ok(pulledAtFirstWrite <= 4 * concurrency + 2, `read ${pulledAtFirstWrite} lines while line 1 was pending`);
});
