// The emulator's batch models: one answer item per record with values exact, a poisoned record
// failing the whole request, a configured count mismatch, the a + b*n cost model, config checks.
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { type Emulator, type EmulatorConfigInput, startEmulator } from '../../src/emulator/server.js';
import { send } from './fixtures/client.js';

async function emulator(t: TestContext, config?: EmulatorConfigInput): Promise<Emulator> {
  const emu = await startEmulator(config);
  t.after(() => emu.close());
  return emu;
}

const ENDPOINTS: EmulatorConfigInput = {
  endpoints: {
    lines: { variants: [{ name: 'AllTraffic' }], model: 'lines-echo' },
    json: { variants: [{ name: 'AllTraffic' }], model: 'json-echo' },
    short: { variants: [{ name: 'AllTraffic' }], model: 'json-echo', batchMismatch: true },
    slow: { variants: [{ name: 'AllTraffic' }], model: 'json-echo', cost: { baseMs: 40, perRecordMs: 2 } },
  },
};

describe('batch models', () => {
  test('lines-echo: one JSON line per request line, JSON lines as written, text as strings', async (t) => {
    const emu = await emulator(t, ENDPOINTS);
    const r = await send(emu.port, { endpoint: 'lines', body: '{"a":12345678901234567890}\nplain\n-0\n' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/jsonlines');
    assert.equal(r.body.toString(), '{"echo":{"a":12345678901234567890}}\n{"echo":"plain"}\n{"echo":-0}\n');
  });

  test('json-echo: an array, or instances -> predictions, each element exactly as written', async (t) => {
    const emu = await emulator(t, ENDPOINTS);
    const a = await send(emu.port, { endpoint: 'json', body: '[1e400, {"s":"a,]"}, 1.10]' });
    assert.equal(a.body.toString(), '[{"echo":1e400},{"echo":{"s":"a,]"}},{"echo":1.10}]');
    const b = await send(emu.port, { endpoint: 'json', body: '{"instances": [-0, [1, 2]]}' });
    assert.equal(b.body.toString(), '{"predictions":[{"echo":-0},{"echo":[1, 2]}]}');
    const bad = await send(emu.port, { endpoint: 'json', body: 'not json' });
    assert.equal(bad.status, 424);
  });

  test('a poisoned record fails the whole request with ModelError; batchMismatch drops the last item', async (t) => {
    const emu = await emulator(t, ENDPOINTS);
    const p = await send(emu.port, { endpoint: 'lines', body: 'a\n{"x":"__poison"}\nc' });
    assert.equal(p.status, 424);
    assert.equal(String(p.headers['x-amzn-errortype']).split(':')[0], 'ModelError');
    assert.match(p.json.OriginalMessage, /poisoned record in a batch of 3/);
    const s = await send(emu.port, { endpoint: 'short', body: '[1,2,3]' });
    assert.equal(s.body.toString(), '[{"echo":1},{"echo":2}]');
  });

  test('cost model: a request of n records takes baseMs + perRecordMs * n', async (t) => {
    const emu = await emulator(t, ENDPOINTS);
    const time = async (body: string): Promise<number> => {
      const t0 = performance.now();
      await send(emu.port, { endpoint: 'slow', body });
      return performance.now() - t0;
    };
    const one = await time('[1]');
    const fifty = await time(JSON.stringify(Array.from({ length: 50 }, (_, i) => i)));
    assert.ok(one >= 40 && one < 40 + 60, `one: ${one}`);
    assert.ok(fifty >= 140 && fifty < 140 + 80, `fifty: ${fifty}`);
  });

  test('the new config keys are checked like the others', async () => {
    await assert.rejects(startEmulator({ endpoints: { x: { cost: { baseMs: -1, perRecordMs: 0 } } as never } }), /config\.endpoints\.x\.cost must be/);
    await assert.rejects(startEmulator({ endpoints: { x: { cost: { baseMs: 1 } } as never } }), /config\.endpoints\.x\.cost must be/);
    await assert.rejects(startEmulator({ endpoints: { x: { batchMismatch: 'yes' } } as never }), /config\.endpoints\.x\.batchMismatch must be a boolean/);
    await assert.rejects(startEmulator({ model: 'batchy' as never }), /config\.model must be one of echo, mirror, lines-echo, json-echo/);
  });
});
