// Many records per request, the built executable against the emulator's batch models: the same
// per-record output as one record per request (plus `batch`), both formats with wrap/unwrap, exact
// values, count mismatches, failures isolated to the records that caused them, resume in the middle
// of a batch, the dry run's packed requests, --join-input byte for byte, and the usage errors.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { BINARY, runCli, tempDir } from '../helpers/cli.js';

let emu: Emulator;
before(async () => {
  emu = await startEmulator({
    logLimit: 100_000,
    endpoints: {
      lines: { variants: [{ name: 'AllTraffic' }], model: 'lines-echo' },
      json: { variants: [{ name: 'AllTraffic' }], model: 'json-echo' },
      short: { variants: [{ name: 'AllTraffic' }], model: 'json-echo', batchMismatch: true },
      mirror: { variants: [{ name: 'AllTraffic' }], model: 'mirror' },
    },
  });
});
after(() => emu.close());

/** The built executable against the emulator, `input` on stdin; stdout as text (and, parsed, its lines). */
async function run(args: string[], input: string | Buffer) {
  const r = await runCli(['--endpoint-url', emu.url, ...args], { input, command: BINARY });
  return { ...r, stdout: r.stdout.toString('utf8') };
}

const sentSince = (from: number): string[] => emu.log.slice(from).map((e) => e.body.toString('utf8'));
/** A result line without what depends on the requests (batch, attempts, latency). */
const perRecord = (line: string): string => line.replace(/,"batch":\{"size":\d+,"index":\d+\}/, '').replace(/,"attempts":\d+,"latencyMs":\d+/, '');
const records = (n: number, poisoned: readonly number[] = []): string =>
  Array.from({ length: n }, (_, i) => (poisoned.includes(i + 1) ? `{"i":${i + 1},"x":"__poison"}` : `{"i":${i + 1},"v":1.10}`)).join('\n') + '\n';

describe('same per-record output, fewer requests', () => {
  test('two flags turn a one-record-per-call run into a batched one: the same lines plus batch', async () => {
    const input = records(20);
    const base = ['--endpoint-name', 'mirror', '--content-type', 'application/json'];
    const one = await run(base, input);
    const from = emu.log.length;
    const many = await run([...base, '--batch-size', '8', '--batch-format', 'lines'], input);
    assert.equal(many.code, 0, many.stderr);
    assert.equal(emu.log.length - from, 3);
    assert.deepEqual(many.stdout.split('\n').map(perRecord), one.stdout.split('\n').map(perRecord));
    assert.deepEqual(
      many.lines.map((l) => l.batch),
      Array.from({ length: 20 }, (_, i) => ({ size: i < 16 ? 8 : 4, index: i % 8 })),
    );
    assert.equal(one.lines[0]!.batch, undefined);
  });

  test("lines: each answer line is its record's body, JSON for a JSON Lines answer; mean batch size in --stats-json", async () => {
    const dir = tempDir();
    const stats = join(dir, 'stats.json');
    const r = await run(['--endpoint-name', 'lines', '--batch-size', '4', '--stats-json', stats], 'plain text\n12345678901234567890\n-0\n{"a":1e400}\n1.10\n');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').filter(Boolean);
    assert.match(lines[0]!, /"contentType":"application\/jsonlines".*"body":\{"echo":"plain text"\}/);
    assert.ok(lines[1]!.includes('"body":{"echo":12345678901234567890}'), lines[1]);
    assert.ok(lines[2]!.includes('"body":{"echo":-0}'), lines[2]);
    assert.ok(lines[3]!.includes('"body":{"echo":{"a":1e400}}'), lines[3]);
    assert.ok(lines[4]!.includes('"body":{"echo":1.10},"batch":{"size":1,"index":0}'), lines[4]);
    assert.equal(JSON.parse(readFileSync(stats, 'utf8')).meanBatchSize, 2.5);
  });

  test('json: an array of bodies, wrapped as {"instances":[...]} and unwrapped from predictions, values exact', async () => {
    const from = emu.log.length;
    const r = await run(
      ['--endpoint-name', 'json', '--envelope', '--batch-size', '3', '--batch-format', 'json', '--batch-wrap', 'instances', '--batch-unwrap', 'predictions'],
      '{"body":{"n":12345678901234567890}}\n{"body": 1e400, "meta": {"k": -0}}\n{"body":"[-0, 1.10]"}\n{"body":"not json"}\n',
    );
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(sentSince(from), ['{"instances":[{"n":12345678901234567890},1e400,[-0,1.10]]}']);
    const lines = r.stdout.split('\n').filter(Boolean);
    assert.ok(lines[0]!.includes('"body":{"echo":{"n":12345678901234567890}}'), lines[0]);
    assert.ok(lines[1]!.includes('"body":{"echo":1e400}') && lines[1]!.includes('"meta":{"k":-0}'), lines[1]);
    assert.ok(lines[2]!.includes('"body":{"echo":[-0,1.10]}'), lines[2]);
    assert.equal(r.lines[3]!.error.code, 'InvalidRecord');
    assert.match(r.lines[3]!.error.message, /--batch-format json needs each body to be a JSON value/);
  });

  test('--output body: one body per line, as without batches', async () => {
    const r = await run(['--endpoint-name', 'json', '--batch-size', '8', '--batch-format', 'json', '--output', 'body'], '1\n"a"\n12345678901234567890\n');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '{"echo":1}\n{"echo":"a"}\n{"echo":12345678901234567890}\n');
  });
});

describe('failures isolated to the records that caused them', () => {
  test('a count mismatch fails the batch with BatchMismatch naming both counts (without splitting)', async () => {
    const r = await run(['--endpoint-name', 'short', '--batch-size', '4', '--batch-format', 'json', '--no-batch-split-on-error'], '1\n2\n3\n4\n');
    assert.equal(r.code, 1);
    assert.deepEqual(
      r.lines.map((l) => [l.ok, l.error.code, l.error.message]),
      Array(4).fill([false, 'BatchMismatch', 'the batch of 4 records was answered with 3 array elements']),
    );
  });

  for (const poisoned of [[17], [3, 4, 30]]) {
    test(`split on error: ${poisoned.length} poisoned in a batch of 32, only they fail`, async () => {
      const from = emu.log.length;
      const r = await run(['--endpoint-name', 'lines', '--batch-size', '32'], records(32, poisoned));
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.lines.length, 32);
      r.lines.forEach((l, i) => {
        assert.equal(l.line, i + 1);
        assert.equal(l.ok, !poisoned.includes(i + 1), JSON.stringify(l));
        if (!l.ok) assert.equal(l.error.code, 'ModelError');
        else assert.equal(l.body.echo.i, i + 1);
      });
      // log2(32) = 5 halvings per poisoned record at most, on top of the first request.
      assert.ok(emu.log.length - from <= 1 + 2 * 5 * poisoned.length, `${emu.log.length - from} requests`);
    });
  }

  test('--no-batch-split-on-error: the whole batch fails with the ModelError', async () => {
    const r = await run(['--endpoint-name', 'lines', '--batch-size', '8', '--no-batch-split-on-error'], records(8, [2]));
    assert.equal(r.code, 1);
    assert.ok(r.lines.every((l) => l.ok === false && l.error.code === 'ModelError' && l.batch.size === 8));
  });
});

describe('with the rest of a run', () => {
  test('--resume in the middle of a batch sends only the records not yet answered', async () => {
    const dir = tempDir();
    const out = join(dir, 'out.ndjson');
    const input = records(20);
    const full = await run(['--endpoint-name', 'lines', '--batch-size', '8', out], input);
    assert.equal(full.code, 0, full.stderr);
    const all = readFileSync(out, 'utf8').split('\n').filter(Boolean);
    writeFileSync(out, all.slice(0, 5).join('\n') + '\n');
    const from = emu.log.length;
    const resumed = await run(['--endpoint-name', 'lines', '--batch-size', '8', '--resume', out], input);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(sentSince(from), [records(20).split('\n').slice(5, 13).join('\n'), records(20).split('\n').slice(13, 20).join('\n')]);
    const after = readFileSync(out, 'utf8').split('\n').filter(Boolean);
    assert.deepEqual(after.map(perRecord), all.map(perRecord));
  });

  test('--resume-failed: kept lines close a batch; only the failed records are sent again', async () => {
    const dir = tempDir();
    const out = join(dir, 'out.ndjson');
    const input = records(8);
    const full = await run(['--endpoint-name', 'lines', '--batch-size', '8', out], input);
    assert.equal(full.code, 0, full.stderr);
    const all = readFileSync(out, 'utf8').split('\n').filter(Boolean);
    const failed = (n: number): string => `{"line":${n},"ok":false,"error":{"code":"ModelError","message":"earlier"},"attempts":1}`;
    writeFileSync(out, all.map((l, i) => ([3, 4, 7].includes(i + 1) ? failed(i + 1) : l)).join('\n') + '\n');
    const from = emu.log.length;
    const again = await run(['--endpoint-name', 'lines', '--batch-size', '8', '--resume-failed', out], input);
    assert.equal(again.code, 0, again.stderr);
    const sent = input.split('\n');
    assert.deepEqual(sentSince(from), [`${sent[2]}\n${sent[3]}`, sent[6]]);
    const after = readFileSync(out, 'utf8').split('\n').filter(Boolean);
    assert.deepEqual(after.map(perRecord), all.map(perRecord));
    assert.deepEqual(
      after.map((l) => JSON.parse(l).batch.size),
      [8, 8, 2, 2, 8, 8, 1, 8],
    );
  });

  test('--dry-run shows each record in its packed request; nothing is sent', async () => {
    const from = emu.log.length;
    const r = await run(['--endpoint-name', 'json', '--batch-size', '2', '--batch-format', 'json', '--dry-run'], '1\n2\n3\n');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(emu.log.length, from);
    assert.deepEqual(
      r.lines.map((l) => [l.line, l.request.bodyPreview, l.batch]),
      [
        [1, '[1,2]', { size: 2, index: 0 }],
        [2, '[1,2]', { size: 2, index: 1 }],
        [3, '[3]', { size: 1, index: 0 }],
      ],
    );
  });

  test('records with other request options (here inference ids) are not batched together', async () => {
    const from = emu.log.length;
    const r = await run(
      ['--endpoint-name', 'lines', '--envelope', '--batch-size', '8'],
      '{"body":"a","inferenceId":"x"}\n{"body":"b","inferenceId":"x"}\n{"body":"c","inferenceId":"y"}\n',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(sentSince(from), ['a\nb', 'c']);
    assert.deepEqual(
      r.lines.map((l) => l.inferenceId),
      ['x', 'x', 'y'],
    );
  });
});

describe('--join-input', () => {
  test('the envelope body as written, bodyBase64 as given; with and without batches', async () => {
    const input = '{"body": {"n": 12345678901234567890, "f": 1.10}}\n{"bodyBase64":"/wA="}\n{"body":"text \\u00e9"}\n';
    for (const extra of [[], ['--batch-size', '4']]) {
      const r = await run(['--endpoint-name', 'mirror', '--envelope', '--join-input', ...extra], input);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split('\n').filter(Boolean);
      assert.ok(lines[0]!.includes('"input":{"n":12345678901234567890,"f":1.10}'), lines[0]);
      assert.ok(lines[1]!.includes('"inputBase64":"/wA="'), lines[1]);
      assert.ok(lines[2]!.includes('"input":"text \\u00e9"'), lines[2]);
    }
  });

  test('body mode: the line as a JSON string, or base64 when it is not UTF-8', async () => {
    const input = Buffer.concat([Buffer.from('{"a":1e400}\n'), Buffer.from([0xff, 0xfe, 0x41, 0x0a]), Buffer.from('caf\u00e9 "q"\n')]);
    const r = await run(['--endpoint-name', 'mirror', '--join-input', '--batch-size', '3'], input);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.lines[0]!.input, '{"a":1e400}');
    assert.equal(Buffer.from(r.lines[1]!.inputBase64, 'base64').toString('hex'), 'fffe41');
    assert.equal(r.lines[2]!.input, 'caf\u00e9 "q"');
  });
});

test('--join-input: a record the batch format refuses still carries its input', async () => {
  const r = await run(['--endpoint-name', 'json', '--batch-size', '4', '--batch-format', 'json', '--join-input'], '1.10\nnot json\n');
  assert.equal(r.code, 1);
  assert.deepEqual(
    r.lines.map((l) => [l.ok, l.input]),
    [
      [true, '1.10'],
      [false, 'not json'],
    ],
  );
  assert.equal(r.lines[1]!.error.code, 'InvalidRecord');
});

describe('usage errors', () => {
  for (const [args, message] of [
    [['--batch-size', '0'], /--batch-size must be a whole number from 1 to 100000, got "0"/],
    [['--batch-size', '4', '--batch-format', 'csv'], /--batch-format must be "lines" or "json", got "csv"/],
    [['--batch-size', '4', '--batch-wrap', 'instances'], /--batch-wrap goes with --batch-format json/],
    [['--batch-size', '4', '--batch-format', 'json', '--batch-unwrap', 'a..b'], /--batch-unwrap must be a key or a dotted path/],
    [['--batch-linger', '5'], /--batch-linger goes with --batch-size N/],
    [['--batch-size', '4', '--batch-bytes', '7000000'], /--batch-bytes must be a whole number from 1 to 6291456/],
    [['--join-input', '--output', 'body'], /--join-input needs --output result/],
  ] as const) {
    test(args.join(' '), async () => {
      const r = await run(['--endpoint-name', 'lines', ...args], '');
      assert.equal(r.code, 2);
      assert.match(r.stderr, message);
    });
  }
});
