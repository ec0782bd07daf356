// Advice never destroys input: an outfile that does not hold sm-invoke results (the input named
// where the outfile goes, the jq / AWS CLI habit) is never offered --force, and --force does not
// replace it; --input FILE names the input, with the same same-file protections as stdin and a
// percentage in --progress.
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { fileLines, runBinary, taggedRecords, tempDir, writeIn } from '../helpers/cli.js';

let emu: Emulator;
before(async () => {
  emu = await startEmulator({ endpoints: { demo: {} } });
});
after(() => emu.close());

/** The binary with stdin from a file (a path), a pipe (a string), or nothing at all (an empty pipe). */
const run = (args: string[], stdin: { file?: string; text?: string } = {}) => runBinary(['--endpoint-url', emu.url, '--endpoint-name', 'demo', ...args], stdin);

const records = taggedRecords;
const sent = (tag: string): number => emu.log.filter((e) => e.body.toString().includes(`"t":"${tag}"`)).length;
const lines = fileLines;
const file = writeIn;

describe('the input named where the outfile goes', () => {
  test('is refused without offering --force; the message shows < FILE and --input FILE; --force does not replace it either', async () => {
    const dir = tempDir();
    const data = records(3, 'if-a');
    const input = file(dir, 'in.ndjson', data);
    for (const extra of [[], ['--force'], ['--output', 'body'], ['--output', 'body', '--force']]) {
      const r = await run([...extra, input]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /outfile .*in\.ndjson already holds \d+ bytes that are not sm-invoke results; it was left as it is/);
      assert.match(r.stderr, /sm-invoke reads records from standard input \(sm-invoke \.\.\. < .*in\.ndjson\) or from --input .*in\.ndjson/);
      assert.doesNotMatch(r.stderr.replace(/--force replaces only/, ''), /--force/, 'never offered');
      if (extra.includes('--force')) assert.match(r.stderr, /--force replaces only an outfile of sm-invoke results/);
      assert.equal(readFileSync(input, 'utf8'), data);
    }
    // Following the advice works.
    let r = await run([], { file: input });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split('\n').filter(Boolean).length, 3);
    r = await run(['--input', input]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split('\n').filter(Boolean).length, 3);
    assert.equal(readFileSync(input, 'utf8'), data);
  });

  test('--force replaces an outfile of results (either format); --force-any replaces anything', async () => {
    const dir = tempDir();
    const input = file(dir, 'in.ndjson', records(2, 'if-b'));
    for (const format of ['result', 'body']) {
      const out = join(dir, `out-${format}.ndjson`);
      assert.equal((await run(['--output', format, '--input', input, out])).code, 0);
      let r = await run(['--output', format, '--input', input, out]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /already holds \d+ bytes of results; it was left as it is\. Give --resume .* or --force to replace it/);
      r = await run(['--output', format, '--force', '--input', input, out]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(lines(out).length, 2);
    }
    const other = file(dir, 'notes.txt', 'precious notes\n');
    const r = await run(['--force-any', '--input', input, other]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(lines(other).length, 2);
  });
});

describe('--input FILE', () => {
  test('-i and --input read the file (stdin is ignored); - is standard input', async () => {
    const dir = tempDir();
    const input = file(dir, 'in.ndjson', records(4, 'if-c'));
    const out = join(dir, 'out.ndjson');
    let r = await run(['-i', input, out], { text: records(9, 'if-c-stdin') });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(lines(out).length, 4);
    assert.equal(sent('if-c-stdin'), 0);
    r = await run(['--input', '-'], { text: records(2, 'if-c2') });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split('\n').filter(Boolean).length, 2);
  });

  test('the outfile or --stats-json is the --input file (same path, symlink, hard link): exit 2, nothing sent, untouched', async () => {
    const dir = tempDir();
    const data = records(3, 'if-d');
    const input = file(dir, 'in.ndjson', data);
    symlinkSync(input, join(dir, 'sym.ndjson'));
    linkSync(input, join(dir, 'hard.ndjson'));
    for (const name of ['in.ndjson', 'sym.ndjson', 'hard.ndjson']) {
      for (const flags of [['--force-any'], ['--resume'], []]) {
        const r = await run(['--input', input, ...flags, join(dir, name)]);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /outfile .* is the --input file .*in\.ndjson: writing it would destroy the input/);
      }
      const r = await run(['--input', input, '--stats-json', join(dir, name)]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--stats-json file .* is the --input file/);
    }
    assert.equal(readFileSync(input, 'utf8'), data);
    assert.equal(sent('if-d'), 0);
  });

  test('a missing file, a directory, or --body with --input: exit 2 with a clear message', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'sub'));
    let r = await run(['--input', join(dir, 'nope.ndjson')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--input .*nope\.ndjson: cannot read it: no such file/);
    r = await run(['--input', join(dir, 'sub')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--input .*sub is a directory/);
    r = await run(['--input', join(dir, 'sub'), '--body', 'x', '-']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--body .* does not go with --input/);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
  });

  test('--progress shows the percentage of the file read', async () => {
    const dir = tempDir();
    // 1.5 s of model time one at a time: the off-terminal progress line (once a second) is drawn at least once.
    const slow = Array.from({ length: 15 }, (_, i) => JSON.stringify({ t: 'if-e', i, __emulator: { latencyMs: 100 } })).join('\n') + '\n';
    const input = file(dir, 'in.ndjson', slow);
    const r = await run(['--input', input, '--progress', '--concurrency', '1', join(dir, 'out.ndjson')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /sm-invoke: \d+ done, .*, \d+\.\d%/);
  });
});
