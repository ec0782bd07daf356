import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseShard, inShard, shardOf } from '../../../src/core/shard.js';
import { linesOfShard } from '../../../src/cli/shard-file.js';
import { parseArgs } from '../../../src/cli/args.js';

test('parseShard: I/N with 0 <= I < N; anything else says what is wrong', () => {
  assert.deepEqual(parseShard('0/4'), { index: 0, count: 4 });
  assert.deepEqual(parseShard('3/4'), { index: 3, count: 4 });
  assert.deepEqual(parseShard('0/1'), { index: 0, count: 1 });
  assert.match(parseShard('4/4') as string, /from 0 to 3/);
  assert.match(parseShard('0/0') as string, /1 or more/);
  for (const bad of ['', '1', '-1/4', '1/-4', '1.0/4', 'a/b', '1/4/2']) assert.equal(typeof parseShard(bad), 'string', bad);
});

test('every line belongs to exactly one shard, round robin by line number', () => {
  for (const n of [1, 2, 3, 4, 7]) {
    for (let line = 1; line <= 50; line++) {
      const owners = Array.from({ length: n }, (_, i) => i).filter((i) => inShard(line, { index: i, count: n }));
      assert.deepEqual(owners, [shardOf(line, n)]);
      assert.equal(shardOf(line, n), (line - 1) % n);
    }
  }
});

test('linesOfShard counts the lines a shard owns', () => {
  for (const n of [1, 3, 4]) {
    for (let total = 0; total <= 20; total++) {
      let sum = 0;
      for (let i = 0; i < n; i++) {
        const shard = { index: i, count: n };
        const own = Array.from({ length: total }, (_, k) => k + 1).filter((l) => inShard(l, shard)).length;
        assert.equal(linesOfShard(total, shard), own, `${total} lines, shard ${i}/${n}`);
        sum += own;
      }
      assert.equal(sum, total);
    }
  }
});

test('--shard is parsed and checked as a usage error', () => {
  const base = ['--endpoint-name', 'ep'];
  const c = parseArgs([...base, '--shard', '2/5']);
  assert.equal(c.kind, 'run');
  if (c.kind === 'run') assert.deepEqual(c.options.shard, { index: 2, count: 5 });
  assert.throws(() => parseArgs([...base, '--shard', '5/5']), /--shard 5\/5: the index I must be from 0 to 4/);
  assert.throws(() => parseArgs([...base, '--shard', 'x']), /--shard must be I\/N/);
  assert.throws(() => parseArgs([...base, '--shard', '0/2', '--body', '{}', 'out']), /does not go with --body/);
});
