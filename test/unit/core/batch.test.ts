// batch.ts: the packer's rules (size, bytes, request options, bad records and kept lines, linger
// with an injected timer), the request body of both formats, and the answer split back exactly.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Batch, batchBody, packRecords, splitAnswer, splitCompactArray, type BatchOptions, type Timer, type Unit } from '../../../src/core/batch.js';
import type { DecodedRecord, GoodRecord } from '../../../src/core/records.js';
import { Kept } from '../../../src/core/source.js';

const FIELDS = { endpointName: 'demo' };
const rec = (line: number, body: string, fields: Record<string, string> = FIELDS): GoodRecord => ({ line, fields, body: Buffer.from(body) });
const opts = (o: Partial<BatchOptions> = {}): BatchOptions => ({ size: 3, bytes: 6291456, format: 'lines', lingerMs: 20, splitOnError: true, ...o });

async function* from(items: (DecodedRecord | Kept)[]): AsyncGenerator<DecodedRecord | Kept> {
  for (const x of items) yield x;
}

async function collect(units: AsyncIterable<Unit>): Promise<string[]> {
  const out: string[] = [];
  for await (const u of units) {
    if (u instanceof Batch) out.push(`batch ${u.records.map((r) => r.line).join(',')}`);
    else if (u instanceof Kept) out.push(`kept ${u.text}`);
    else out.push(u.error ? `bad ${u.line} ${u.error.code}` : `single ${u.line}`);
  }
  return out;
}

test('packs up to --batch-size records; the rest goes as a partial batch at the end', async () => {
  const items = [1, 2, 3, 4, 5, 6, 7].map((i) => rec(i, `r${i}`));
  assert.deepEqual(await collect(packRecords(from(items), opts())), ['batch 1,2,3', 'batch 4,5,6', 'batch 7']);
});

test('a batch closes before --batch-bytes would be exceeded (separators counted); a larger record goes alone', async () => {
  const items = [rec(1, 'aaaa'), rec(2, 'bbbb'), rec(3, 'cccc'), rec(4, 'x'.repeat(20)), rec(5, 'dd')];
  // lines: "aaaa\nbbbb" is 9 bytes; a third would make 14.
  assert.deepEqual(await collect(packRecords(from(items), opts({ size: 10, bytes: 10 }))), ['batch 1,2', 'batch 3', 'batch 4', 'batch 5']);
  // json: ["aaaa","bbbb"] needs quotes, so JSON bodies: 1,2 -> [1,2] is 5 bytes.
  const nums = [rec(1, '1'), rec(2, '2'), rec(3, '3')];
  assert.deepEqual(await collect(packRecords(from(nums), opts({ format: 'json', size: 10, bytes: 5 }))), ['batch 1,2', 'batch 3']);
});

test('a record with other request options, a bad record or a kept line closes the batch', async () => {
  const items: (DecodedRecord | Kept)[] = [
    rec(1, 'a'),
    rec(2, 'b', { endpointName: 'demo', inferenceId: 'x' }),
    rec(3, 'c', { endpointName: 'demo', inferenceId: 'x' }),
    { line: 4, error: { code: 'InvalidJson', message: 'no' } },
    rec(5, 'd'),
    new Kept('{"line":6,"ok":true}'),
    rec(7, 'e'),
    rec(8, 'f', { endpointName: 'other' }),
  ];
  assert.deepEqual(await collect(packRecords(from(items), opts({ size: 10 }))), [
    'batch 1',
    'batch 2,3',
    'bad 4 InvalidJson',
    'batch 5',
    'kept {"line":6,"ok":true}',
    'batch 7',
    'batch 8',
  ]);
});

test("a body the format cannot carry is that record's InvalidRecord, and closes the batch", async () => {
  const json = [rec(1, '{"a":1}'), rec(2, 'not json'), rec(3, ' [1, 2] ')];
  assert.deepEqual(await collect(packRecords(from(json), opts({ format: 'json' }))), ['batch 1', 'bad 2 InvalidRecord', 'batch 3']);
  const lines = [rec(1, 'a'), rec(2, 'b\nc')];
  assert.deepEqual(await collect(packRecords(from(lines), opts())), ['batch 1', 'bad 2 InvalidRecord']);
});

test('linger: a partial batch goes out when no record comes before the timer fires (injected timer)', async () => {
  const timers: Array<() => void> = [];
  const timer: Timer = () => {
    let fire!: () => void;
    const done = new Promise<void>((resolve) => {
      fire = resolve;
    });
    timers.push(fire);
    return { done, cancel: () => undefined };
  };
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  async function* slow(): AsyncGenerator<DecodedRecord> {
    yield rec(1, 'a');
    yield rec(2, 'b');
    await gate; // stdin goes quiet
    yield rec(3, 'c');
  }
  const it = packRecords(slow(), opts({ size: 10 }), timer)[Symbol.asyncIterator]();
  const first = it.next();
  // Wait until the packer is waiting on the third record with a timer running.
  while (timers.length < 2) await new Promise((r) => setImmediate(r));
  timers[timers.length - 1]!();
  const u = (await first).value as Batch;
  assert.deepEqual(
    u.records.map((r) => r.line),
    [1, 2],
  );
  release();
  const v = (await it.next()).value as Batch;
  assert.deepEqual(
    v.records.map((r) => r.line),
    [3],
  );
  assert.equal((await it.next()).done, true);
});

test('request bodies: lines joined by \\n; a JSON array, wrapped at a dotted path', () => {
  const parts = [Buffer.from('{"a":1}'), Buffer.from('12345678901234567890')];
  assert.equal(batchBody(parts, { format: 'lines' }).toString(), '{"a":1}\n12345678901234567890');
  assert.equal(batchBody(parts, { format: 'json' }).toString(), '[{"a":1},12345678901234567890]');
  assert.equal(batchBody(parts, { format: 'json', wrap: ['inputs', 'instances'] }).toString(), '{"inputs":{"instances":[{"a":1},12345678901234567890]}}');
});

test('answers split exactly: lines (final newline allowed), JSON arrays (at the unwrap path), counts checked', () => {
  const lines = splitAnswer(Buffer.from('{"x":1e400}\n-0\n\n'), { format: 'lines' }, 3);
  assert.ok(lines.ok);
  assert.deepEqual(lines.bodies.map(String), ['{"x":1e400}', '-0', '']);
  const json = splitAnswer(Buffer.from('{"predictions": [ 1.10, {"s":"a,]\\"b"}, [1,[2]], -0 ]}'), { format: 'json', unwrap: ['predictions'] }, 4);
  assert.ok(json.ok);
  assert.deepEqual(json.bodies.map(String), ['1.10', '{"s":"a,]\\"b"}', '[1,[2]]', '-0']);
  const few = splitAnswer(Buffer.from('[1,2]'), { format: 'json' }, 3);
  assert.deepEqual(few, { ok: false, message: 'the batch of 3 records was answered with 2 array elements' });
  const noKey = splitAnswer(Buffer.from('{"outputs":[1]}'), { format: 'json', unwrap: ['predictions'] }, 1);
  assert.equal(noKey.ok, false);
  assert.equal(splitAnswer(Buffer.from('not json'), { format: 'json' }, 1).ok, false);
  assert.deepEqual(splitCompactArray('[]'), []);
  assert.equal(splitCompactArray('{"a":1}'), undefined);
});
