// What an answer becomes in a result, through the built executable and the emulator: a 200 answer
// that says JSON but is not (kept under "bodyText", never taken for a JSON string), nesting exactly
// at the limit passed on everywhere a container of ours wraps it (envelope, result line, batch
// array), and JSON Lines answers the same type with and without batching.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { BINARY, runCli, tempDir } from '../helpers/cli.js';

let emu: Emulator;
before(async () => {
  emu = await startEmulator({
    endpoints: {
      mirror: { model: 'mirror' },
      lines: { model: 'lines-echo' },
      json: { model: 'json-echo' },
    },
  });
});
after(() => emu.close());

const bin = (args: string[], input = ''): ReturnType<typeof runCli> => runCli(['--endpoint-url', emu.url, ...args], { command: BINARY, input });
const nested = (n: number): string => '['.repeat(n) + ']'.repeat(n);

describe('an answer that says JSON and is not', () => {
  test('--output result: "bodyText" for the invalid one, "body" for a JSON string; never the same line', async () => {
    const r = await bin(['--endpoint-name', 'mirror', '--accept', 'application/json'], 'hello\n"hello"\n{"a":1}\n[1,\n');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.lines.length, 4);
    assert.equal(r.lines[0]!.bodyText, 'hello');
    assert.equal('body' in r.lines[0]!, false);
    assert.equal(r.lines[1]!.body, 'hello');
    assert.equal('bodyText' in r.lines[1]!, false);
    assert.deepEqual(r.lines[2]!.body, { a: 1 });
    assert.equal(r.lines[3]!.bodyText, '[1,');
    // A text type is text: "body", a JSON string.
    const text = await bin(['--endpoint-name', 'mirror', '--accept', 'text/plain'], 'hello\n');
    assert.equal(text.lines[0]!.body, 'hello');
  });

  test('--output body: the invalid one is written as its text, the JSON string as JSON', async () => {
    const r = await bin(['--endpoint-name', 'mirror', '--accept', 'application/json', '--output', 'body'], 'hello\n"hello"\n');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), 'hello\n"hello"\n');
  });
});

describe('nesting exactly at the limit (1,000 levels) passes wherever our own containers wrap it', () => {
  test('an envelope body and meta of 1,000 levels are sent and kept; 1,001 is refused naming 1000', async () => {
    const input = `{"body":${nested(1000)},"meta":${nested(1000)}}\n{"body":${nested(1001)}}\n{"body":1,"meta":${nested(1001)}}\n`;
    const r = await bin(['--endpoint-name', 'mirror', '--content-type', 'application/json', '--envelope'], input);
    assert.equal(r.code, 1, r.stderr);
    const [ok, deepBody, deepMeta] = r.stdout.toString().split('\n');
    assert.match(ok!, /"ok":true/);
    assert.ok(ok!.includes(`"body":${nested(1000)}`), 'the answer, 1000 deep, is JSON in the result');
    assert.ok(ok!.includes(`"meta":${nested(1000)}`));
    assert.match(deepBody!, /"ok":false.*"code":"InvalidRecord","message":"nested deeper than 1000 levels in body\[0\]/);
    assert.match(deepMeta!, /"ok":false.*"code":"InvalidRecord","message":"nested deeper than 1000 levels in meta\[0\]/);
  });

  test('--resume reads back a result line whose body is 1,000 deep', async () => {
    const out = join(tempDir(), 'out.ndjson');
    const input = `${nested(1000)}\n${nested(1000)}\n`;
    const args = ['--endpoint-name', 'mirror', '--content-type', 'application/json', out];
    const first = await bin(args, input.split('\n')[0] + '\n');
    assert.equal(first.code, 0, first.stderr);
    const r = await bin(['--resume', ...args], input);
    assert.equal(r.code, 0, r.stderr);
    const lines = readFileSync(out, 'utf8').split('\n').filter(Boolean);
    assert.equal(lines.length, 2);
    assert.ok(lines.every((l, i) => l.startsWith(`{"line":${i + 1},"ok":true`) && l.includes(`"body":${nested(1000)}`)));
  });

  test("--batch-format json: elements 1,000 deep in the answer array are each record's JSON body", async () => {
    const input = `${nested(999)}\n${nested(999)}\n`;
    // json-echo answers [{"echo":<element>}...]: each element 1000 deep, the array 1001.
    const r = await bin(['--endpoint-name', 'json', '--content-type', 'application/json', '--batch-size', '2', '--batch-format', 'json'], input);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.toString().split('\n').filter(Boolean);
    assert.equal(lines.length, 2);
    for (const l of lines) assert.ok(l.includes(`"body":{"echo":${nested(999)}}`), l.slice(0, 200));
  });
});

describe('JSON Lines answers', () => {
  test('the body is the same JSON value with and without batching', async () => {
    const input = '{"x":1}\n{"x":2}\n';
    const single = await bin(['--endpoint-name', 'lines', '--content-type', 'application/jsonlines'], input);
    const batched = await bin(['--endpoint-name', 'lines', '--content-type', 'application/jsonlines', '--batch-size', '2'], input);
    assert.equal(single.code, 0, single.stderr);
    assert.equal(batched.code, 0, batched.stderr);
    assert.equal(single.lines[0]!.contentType, 'application/jsonlines');
    assert.deepEqual(
      single.lines.map((l) => l.body),
      [{ echo: { x: 1 } }, { echo: { x: 2 } }],
    );
    assert.deepEqual(
      batched.lines.map((l) => l.body),
      single.lines.map((l) => l.body),
    );
  });

  test('several lines in one answer are JSON Lines text, a string; one line that is not JSON is "bodyText"', async () => {
    const input = `${JSON.stringify({ body: '{"a":1}\n{"a":2}\n' })}\n${JSON.stringify({ body: 'nope\n' })}\n`;
    const r = await bin(['--endpoint-name', 'mirror', '--accept', 'application/jsonlines', '--envelope'], input);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.lines[0]!.body, '{"a":1}\n{"a":2}\n');
    assert.equal(r.lines[1]!.bodyText, 'nope\n');
  });
});
