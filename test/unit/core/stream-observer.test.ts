// The PartObserver interface (stream-invoke.ts) that answer parsers build on, through runPipeline
// with the real signer, transport and emulator: each part's bytes and arrival time as it arrives, an
// attempt's start and end, a retry starting over, and resend: false making a mid-stream failure final.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DEFAULT_STREAM_TIMEOUT_MS } from '../../../src/constants.js';
import { runPipeline } from '../../../src/core/pipeline.js';
import type { PartObserver } from '../../../src/core/stream-invoke.js';
import { startEmulator, type Emulator } from '../../../src/emulator/server.js';
import { latin1Lines, pipelineHarness } from '../../helpers/pipeline.js';

let emu: Emulator;
before(async () => {
  emu = await startEmulator({ endpoints: { tgi: { stream: { model: 'tgi', tokens: 6, interTokenMs: 2 } } } });
});
after(() => emu.close());

interface Seen {
  events: string[];
  parts: Buffer[];
  at: number[];
}

async function runWith(lines: string[], observer: (seen: Seen, line: number) => PartObserver) {
  const h = pipelineHarness(emu.url, { concurrency: 2, defaults: { endpointName: 'tgi' } });
  const seen = new Map<number, Seen>();
  try {
    await runPipeline({
      ...h.init,
      lines: latin1Lines(lines),
      decode: { ...h.init.decode, stream: true },
      stream: {
        send: h.transport.sendStream,
        settings: { idleTimeoutMs: 5_000, streamTimeoutMs: DEFAULT_STREAM_TIMEOUT_MS, maxStreamBytes: 1 << 20 },
        observe: (rec) => {
          let s = seen.get(rec.line);
          if (s === undefined) seen.set(rec.line, (s = { events: [], parts: [], at: [] }));
          return observer(s, rec.line);
        },
      },
    });
  } finally {
    h.transport.close();
  }
  return {
    seen,
    results: h.out
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l)),
  };
}

const recording = (s: Seen): PartObserver => ({
  onStart: (attempt) => {
    s.events.push(`start ${attempt}`);
    s.parts.length = 0;
    s.at.length = 0;
  },
  onPart: (bytes, atMs) => {
    s.parts.push(Buffer.from(bytes));
    s.at.push(atMs);
  },
  onEnd: (ok) => s.events.push(`end ${ok}`),
});

test('each part as it arrives, on the clock of firstByteMs; a retry starts over', async () => {
  const retried = JSON.stringify({ inputs: 'again', __emulator: { streamFault: { type: 'internal-stream-failure', afterParts: 3, times: 1 } } });
  const { seen, results } = await runWith(['{"inputs":"a"}', retried], recording);
  for (const r of results) {
    const s = seen.get(r.line)!;
    assert.equal(r.ok, true);
    assert.equal(Buffer.concat(s.parts).toString('utf8'), r.body, 'the parts are the body');
    assert.equal(s.parts.length, r.stream.parts);
    assert.equal(Math.round(s.at[0]! * 10) / 10, r.stream.firstByteMs);
    assert.deepEqual(
      [...s.at].sort((x, y) => x - y),
      s.at,
      'arrival times only grow',
    );
  }
  assert.deepEqual(seen.get(1)!.events, ['start 1', 'end true']);
  assert.deepEqual(seen.get(2)!.events, ['start 1', 'end false', 'start 2', 'end true']);
  assert.equal(results[1].attempts, 2);
});

test('resend: false: a failure after the first part is final; a throwing observer fails its record only', async () => {
  const cut = JSON.stringify({ inputs: 'cut', __emulator: { streamFault: { type: 'cut', afterParts: 2, times: 1 } } });
  const once: PartObserver = { resend: false, onPart: () => undefined };
  const a = await runWith([cut, '{"inputs":"fine"}'], () => once);
  assert.equal(a.results[0].ok, false);
  assert.equal(a.results[0].error.code, 'StreamCut');
  assert.equal(a.results[0].attempts, 1);
  assert.match(a.results[0].error.message, /not sent again/);
  assert.equal(a.results[1].ok, true);
  const b = await runWith(['{"inputs":"boom"}', '{"inputs":"fine too"}'], (s, line) => ({
    onPart: () => {
      if (s.events.push('part') === 2 && line === 1) throw new Error('parser gave up');
    },
  }));
  assert.equal(b.results[0].error.code, 'StreamObserverError');
  assert.match(b.results[0].error.message, /parser gave up/);
  assert.equal(b.results[0].attempts, 1, 'final: not sent again');
  assert.equal(b.results[1].ok, true);
});
