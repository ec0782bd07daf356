// lines.ts: exact bytes across awkward chunk boundaries, bounded line length.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { OVERFLOW_MARK, readLines } from '../../../src/core/lines.js';

async function collect(chunks: Buffer[], max = 1024): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const line of readLines(Readable.from(chunks, { objectMode: false }), max)) {
    out.push(Buffer.from(line as string, 'latin1'));
  }
  return out;
}

const bytewise = (b: Buffer): Buffer[] => [...b].map((x) => Buffer.from([x]));

test('LF, CRLF and a final line without newline', async () => {
  const lines = await collect([Buffer.from('a\r\nb\nc')]);
  assert.deepEqual(lines.map(String), ['a', 'b', 'c']);
});

test('byte-by-byte delivery gives the same lines, multibyte UTF-8 intact', async () => {
  const input = Buffer.from('héllo\r\n☃ snow\n\n{"k":"€"}\nend');
  const whole = await collect([input]);
  const pieces = await collect(bytewise(input));
  assert.deepEqual(pieces, whole);
  assert.deepEqual(
    whole.map((b) => b.toString('utf8')),
    ['héllo', '☃ snow', '', '{"k":"€"}', 'end'],
  );
});

test('invalid UTF-8 and NUL bytes come through untouched', async () => {
  const line = Buffer.from([0x00, 0xff, 0xc3, 0x28, 0xe2, 0x82, 0x0d, 0x41]);
  const lines = await collect([Buffer.concat([line, Buffer.from('\n')])]);
  assert.deepEqual(lines, [line]);
});

test('a chunk split inside CRLF still strips the CR', async () => {
  const lines = await collect([Buffer.from('one\r'), Buffer.from('\ntwo\r'), Buffer.from('\n')]);
  assert.deepEqual(lines.map(String), ['one', 'two']);
});

test('an over-long line is cut and marked; lines around it are intact, in any chunking', async () => {
  const long = 'x'.repeat(50);
  const input = Buffer.from(`short\n${long}\nafter\n${'y'.repeat(16)}\n`);
  for (const chunks of [[input], bytewise(input), [input.subarray(0, 10), input.subarray(10, 33), input.subarray(33)]]) {
    const lines = (await collect(chunks, 16)).map((b) => b.toString('latin1'));
    assert.equal(lines.length, 4);
    assert.equal(lines[0], 'short');
    assert.ok(lines[1]!.endsWith(OVERFLOW_MARK) === false, 'latin1 round trip drops the mark char');
    assert.equal(lines[2], 'after');
    assert.equal(lines[3], 'y'.repeat(16), 'a line exactly at the limit is fine');
  }
});

test('the overflow mark is a char no input byte can produce', async () => {
  const raw: string[] = [];
  for await (const l of readLines(Readable.from([Buffer.from('a'.repeat(40) + '\nok\n')]), 8)) raw.push(l as string);
  assert.equal(raw[0], 'a'.repeat(8) + OVERFLOW_MARK);
  assert.equal(raw[1], 'ok');
  for (let b = 0; b < 256; b++) assert.notEqual(Buffer.from([b]).toString('latin1'), OVERFLOW_MARK);
});

test('memory stays bounded on a huge line with no newline', async () => {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  async function* endless(): AsyncGenerator<Buffer> {
    for (let i = 0; i < 200; i++) yield chunk; // 12.5 MiB, one line
    yield Buffer.from('\nnext\n');
  }
  const raw: string[] = [];
  for await (const l of readLines(Readable.from(endless()), 1024)) raw.push(l as string);
  assert.equal(raw.length, 2);
  assert.equal(raw[0]!.length, 1025);
  assert.equal(raw[1], 'next');
});

test('stopping early leaves the input open; an input error ends the lines with that error', async () => {
  const input = new Readable({ read() {} });
  input.push('one\ntwo\nthree\n');
  for await (const l of readLines(input, 1024)) {
    assert.equal(l, 'one');
    break;
  }
  assert.equal(input.destroyed, false, 'stdin is not ours to destroy');

  const failing = new Readable({ read() {} });
  failing.push('a\n');
  setImmediate(() => failing.destroy(new Error('disk on fire')));
  const seen: string[] = [];
  await assert.rejects(async () => {
    for await (const l of readLines(failing, 1024)) seen.push(l);
  }, /disk on fire/);
  assert.deepEqual(seen, ['a']);
});

test('a line spread over many chunks comes out whole, once', async () => {
  const line = Buffer.alloc(300_000, 0x62);
  const input = Buffer.concat([Buffer.from('x\n'), line, Buffer.from('\r\ny')]);
  const chunks: Buffer[] = [];
  for (let i = 0; i < input.length; i += 7_777) chunks.push(input.subarray(i, i + 7_777));
  const lines = await collect(chunks, 1 << 20);
  assert.deepEqual(
    lines.map((b) => b.length),
    [1, line.length, 1],
  );
  assert.ok(lines[1]!.equals(line));
});
