// The emulator's request log counts a call's attempts per run (by the client's amz-sdk-invocation-id,
// which sm-invoke sends as the SDKs do), while a fault's `times` still counts deliveries of a body
// across runs (so a rerun finds it cleared).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { runBinary } from '../helpers/cli.js';

let emu: Emulator;
before(async () => {
  emu = await startEmulator({ endpoints: { demo: {} } });
});
after(() => emu.close());

test('a second run of the same records starts at attempt 1; a throttle with times: 1 was spent by the first run', async () => {
  const input = `${JSON.stringify({ t: 'attempts', n: 1 })}\n${JSON.stringify({ t: 'attempts', n: 2, __emulator: { fault: 'throttle', times: 1 } })}\n`;
  const args = ['--endpoint-url', emu.url, '--endpoint-name', 'demo', '--content-type', 'application/json'];
  const first = emu.log.length;
  const one = await runBinary(args, { text: input });
  assert.equal(one.code, 0, one.stderr);
  const second = emu.log.length;
  const two = await runBinary(args, { text: input });
  assert.equal(two.code, 0, two.stderr);
  const seen = (from: number, to: number) =>
    emu.log.slice(from, to).map((e) => [JSON.parse(e.body.toString()).n, e.attempt, e.delivery, e.status, e.headers['amz-sdk-request']]);
  const sorted = (rows: unknown[][]) => rows.sort((a, b) => Number(a[0]) - Number(b[0]) || Number(a[1]) - Number(b[1]));
  assert.deepEqual(sorted(seen(first, second)), [
    [1, 1, 1, 200, 'attempt=1; max=3'],
    [2, 1, 1, 400, 'attempt=1; max=3'],
    [2, 2, 2, 200, 'attempt=2; max=3'],
  ]);
  assert.deepEqual(sorted(seen(second, emu.log.length)), [
    [1, 1, 2, 200, 'attempt=1; max=3'],
    [2, 1, 3, 200, 'attempt=1; max=3'],
  ]);
  // One invocation id per call: a record's two attempts share it, and the two runs' differ.
  const ids = emu.log.slice(first).map((e) => e.headers['amz-sdk-invocation-id']);
  assert.equal(new Set(ids).size, 4);
});
