// resume.ts: scanning an interrupted outfile.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { dropTornLine, scanOutfile } from '../../../src/cli/resume-file.js';
import { tempDir } from '../../helpers/cli.js';

const dir = tempDir();

test('missing, empty, complete and torn files', async () => {
  assert.equal(await scanOutfile(join(dir, 'none')), undefined);
  const empty = join(dir, 'empty');
  writeFileSync(empty, '');
  assert.deepEqual(await scanOutfile(empty), {
    completeBytes: 0,
    tornBytes: 0,
    records: 0,
    lastLine: undefined,
    failed: 0,
    failuresByCode: new Map(),
    firstFailedLines: [],
  });
  const done = join(dir, 'done');
  writeFileSync(done, '{"line":1,"ok":true}\n{"line":3,"ok":false}\n');
  assert.deepEqual(await scanOutfile(done), {
    completeBytes: 43,
    tornBytes: 0,
    records: 2,
    lastLine: 3,
    failed: 1,
    failuresByCode: new Map([['Unknown', 1]]),
    firstFailedLines: [3],
  });
  const torn = join(dir, 'torn');
  writeFileSync(torn, '{"line":1,"ok":true}\n{"line":2,"ok":tr');
  const state = (await scanOutfile(torn))!;
  assert.deepEqual(state, { completeBytes: 21, tornBytes: 17, records: 1, lastLine: 1, failed: 0, failuresByCode: new Map(), firstFailedLines: [] });
  await dropTornLine(torn, state);
  const middle = join(dir, 'middle');
  writeFileSync(middle, '{"line":1,"ok":true,"body":{"a":\n{"line":2,"ok":true}\n');
  await assert.rejects(scanOutfile(middle), /line 1 of .*middle: it is not a whole JSON line \(a result cut short/);
  assert.equal(readFileSync(torn, 'utf8'), '{"line":1,"ok":true}\n');
});

test('many lines across read chunks; body-mode lines have no line field', async () => {
  const big = join(dir, 'big');
  const lines = Array.from({ length: 60_000 }, (_, i) => JSON.stringify({ line: i + 1, ok: true, body: 'x'.repeat(i % 50) }));
  writeFileSync(big, lines.join('\n') + '\n' + '{"line":60001');
  const s = (await scanOutfile(big))!;
  assert.equal(s.failed, 0);
  assert.equal(s.records, 60_000);
  assert.equal(s.lastLine, 60_000);
  assert.equal(s.tornBytes, 13);
  const bodies = join(dir, 'bodies');
  writeFileSync(bodies, 'a\n\nc\n');
  assert.deepEqual(await scanOutfile(bodies, true), {
    completeBytes: 5,
    tornBytes: 0,
    records: 3,
    lastLine: undefined,
    failed: 1,
    failuresByCode: new Map([['Unknown', 1]]),
    firstFailedLines: [2],
  });
});

test("the last result's inferenceId and meta (compact JSON) are kept to recognise the input", async () => {
  const f = join(dir, 'ids');
  writeFileSync(f, '{"line":1,"ok":true}\n{"line":2,"inferenceId":"r-2","ok":false,"meta":{"id": 2, "tags":["a"]}}\n{"line":3,');
  assert.deepEqual(await scanOutfile(f), {
    completeBytes: 94,
    tornBytes: 10,
    records: 2,
    lastLine: 2,
    failed: 1,
    failuresByCode: new Map([['Unknown', 1]]),
    firstFailedLines: [2],
    lastInferenceId: 'r-2',
    lastMeta: '{"id":2,"tags":["a"]}',
  });
});

test('failures are counted from each line\'s own "ok", not from bodies or meta that say "ok":false', async () => {
  const f = join(dir, 'mixed');
  writeFileSync(
    f,
    [
      '{"line":1,"ok":true,"body":{"ok":false}}',
      '{"line":2,"inferenceId":"a\\"ok\\":false","ok":true,"meta":{"ok":false}}',
      '{"line":3,"ok":false,"error":{"code":"ModelError","message":"m"}}',
      `{"line":4,"ok":false,"error":{"code":"X","message":"${'y'.repeat(3 << 20)}"}}`,
    ].join('\n') + '\n',
  );
  const s = (await scanOutfile(f))!;
  assert.equal(s.records, 4);
  assert.equal(s.failed, 2);
  assert.deepEqual(
    s.failuresByCode,
    new Map([
      ['ModelError', 1],
      ['X', 1],
    ]),
  );
  assert.deepEqual(s.firstFailedLines, [3, 4]);
  const bodies = join(dir, 'bodies-ok-false');
  writeFileSync(bodies, '{"ok":false}\n\n');
  assert.equal((await scanOutfile(bodies, true))!.failed, 1, 'a body saying ok:false is not a failure; the empty line is');
});
