// pipeline.ts in-process with the real signer and HTTP transport against the emulator:
// ordering and bounds as properties over seeded random latencies.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEmulator, type Emulator } from '../src/emulator/server.js';
import { runPipeline, type PipelineInit, type Summary } from '../src/pipeline.js';
import { parseTarget } from '../src/request.js';
import { createSigner } from '../src/sign.js';
import { createTransport } from '../src/transport.js';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY } from './helpers/cli.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
let emu: Emulator;
before(async () => {
  emu = await startEmulator({ logLimit: 0 }, { now: () => NOW });
});
after(() => emu.close());

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

async function* linesOf(bodies: string[], onPull?: (n: number) => void): AsyncGenerator<string> {
  let n = 0;
  for (const b of bodies) {
    onPull?.(++n);
    yield Buffer.from(b).toString('latin1');
  }
}

async function run(bodies: string[], concurrency: number, extra: Partial<PipelineInit> = {}): Promise<{ out: string[]; summary: Summary }> {
  const transport = createTransport(concurrency);
  const out: string[] = [];
  try {
    const summary = await runPipeline({
      lines: linesOf(bodies),
      decode: { envelope: false, defaults: { endpointName: 'demo', contentType: 'application/json' }, maxLineBytes: 1 << 20 },
      concurrency,
      target: parseTarget(emu.url),
      sign: createSigner({ credentials: async () => ({ accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY }), region: 'us-east-1' }),
      send: transport.send,
      output: 'result',
      write: (t) => { out.push(t); },
      warn: () => undefined,
      maxAttempts: 3,
      retryModelErrors: false,
      timeoutMs: 10_000,
      connectTimeoutMs: 5_000,
      maxErrors: 0,
      now: () => NOW,
      random: () => 0,
      ...extra,
    });
    return { out, summary };
  } finally {
    transport.close();
  }
}

test('output line i answers input record i, one request each, in-flight within the limit — 25 seeds', async () => {
  for (let seed = 1; seed <= 25; seed++) {
    const random = prng(seed);
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
  const transport = createTransport(concurrency);
  const out: string[] = [];
  const { summary } = await run([], concurrency, {
    lines: linesOf(bodies, (n) => { pulled = n; }),
    send: transport.send,
    write: (t) => {
      if (pulledAtFirstWrite < 0) pulledAtFirstWrite = pulled;
      out.push(t);
    },
  });
  transport.close();
  assert.equal(out.length, 400);
  assert.equal(summary.ok, 400);
  // The window is 4 x concurrency started-but-unwritten records, plus one line read ahead.
  assert.ok(pulledAtFirstWrite <= 4 * concurrency + 2, `read ${pulledAtFirstWrite} lines while line 1 was pending`);
});
