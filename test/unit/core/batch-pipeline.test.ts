// pipeline.ts with batches, in-process against the emulator: the counts (ok, failed, requests) with
// split-on-error, and the memory bound counting a batch as its records' bodies.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { BatchOptions } from '../../../src/core/batch.js';
import { runPipeline, type PipelineInit } from '../../../src/core/pipeline.js';
import { startEmulator, type Emulator } from '../../../src/emulator/server.js';
import { latin1Lines, pipelineHarness } from '../../helpers/pipeline.js';

let emu: Emulator;
before(async () => {
  emu = await startEmulator({
    logLimit: 0,
    endpoints: { lines: { variants: [{ name: 'AllTraffic' }], model: 'lines-echo', latencyMs: 20 } },
  });
});
after(() => emu.close());

const BATCH: BatchOptions = { size: 8, bytes: 6291456, format: 'lines', lingerMs: 20, splitOnError: true };

async function run(bodies: string[], extra: Partial<PipelineInit>) {
  const h = pipelineHarness(emu.url, { concurrency: 8, defaults: { endpointName: 'lines' } });
  try {
    const summary = await runPipeline({ ...h.init, lines: latin1Lines(bodies), batch: BATCH, ...extra });
    return { out: h.out.join('').split('\n').filter(Boolean), summary };
  } finally {
    h.transport.close();
  }
}

test('counts with split on error: records ok and failed, requests and records per request', async () => {
  const bodies = Array.from({ length: 16 }, (_, i) => (i === 5 ? '"__poison"' : String(i)));
  const { out, summary } = await run(bodies, {});
  assert.equal(out.length, 16);
  assert.equal(summary.ok, 15);
  assert.equal(summary.failed, 1);
  // 2 batches of 8; the poisoned one halved three times: 8 -> 4+4 -> 2+2 -> 1+1.
  assert.equal(summary.requests, 2 + 2 + 2 + 2);
  assert.equal(summary.requestRecords, 16 + 8 + 4 + 2);
});

test("the memory bound counts a batch as its records' bodies", async () => {
  emu.reset();
  const big = 'x'.repeat(64 * 1024);
  const bodies = Array.from({ length: 128 }, () => JSON.stringify(big));
  // Each batch holds 8 x 64 KiB = 512 KiB and its answer about as much: 2 MiB leaves room for ~2 at once.
  const { out } = await run(bodies, { maxBufferBytes: 2 * 1024 * 1024 });
  assert.equal(out.length, 128);
  const peak = emu.endpointStats('lines').maxInFlight;
  assert.ok(peak >= 1 && peak <= 2, `peak ${peak} requests in flight`);
});
