// --resume proves that the records an outfile already answers are this input's records (the digest
// file beside it), or refuses with exit 2 and the outfile untouched: another input of the same
// length, a longer one, another --output format, a damaged outfile, an outfile without digests.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { fileLines, runBinary, taggedRecords, tempDir, writeIn } from '../helpers/cli.js';

let emu: Emulator;
before(async () => {
  emu = await startEmulator({ endpoints: { demo: {} } });
});
after(() => emu.close());

const run = (args: string[], stdinPath: string) => runBinary(['--endpoint-url', emu.url, '--endpoint-name', 'demo', ...args], { file: stdinPath });

const records = taggedRecords;
const sent = (tag: string): number => emu.log.filter((e) => e.body.toString().includes(`"t":"${tag}"`)).length;
const lines = fileLines;
const file = writeIn;

/** A finished run over `input`, then the outfile cut back to its first `keep` lines, as a kill leaves it. */
async function interrupted(dir: string, input: string, keep: number, extra: string[] = []): Promise<string> {
  const out = join(dir, 'out.ndjson');
  const r = await run([...extra, out], input);
  assert.equal(r.code, 0, r.stderr);
  const kept = lines(out).slice(0, keep);
  writeFileSync(out, kept.map((l) => l + '\n').join(''));
  return out;
}

describe('--resume proves the answered records are the same records', () => {
  test('another input of the same length: exit 2, nothing sent, the outfile and its digest file untouched', async () => {
    const dir = tempDir();
    const day1 = file(dir, 'day1.ndjson', records(6, 'rp-a1'));
    const out = await interrupted(dir, day1, 6);
    const before = readFileSync(out);
    const digests = readFileSync(`${out}.sm-invoke.digests`);
    const day2 = file(dir, 'day2.ndjson', records(6, 'rp-a2'));
    const r = await run(['--resume', out], day2);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /--resume: record 1 of this input \(line 1\) is not the record that the outfile's result 1 answers .*not the same input; nothing was changed in/,
    );
    assert.deepEqual(readFileSync(out), before);
    assert.deepEqual(readFileSync(`${out}.sm-invoke.digests`), digests);
    assert.equal(sent('rp-a2'), 0);
  });

  test('a longer input that differs in one answered record, and the same records after a blank line was added: exit 2', async () => {
    const dir = tempDir();
    const base = records(5, 'rp-b');
    const out = await interrupted(dir, file(dir, 'in.ndjson', base), 3);
    const before = readFileSync(out);
    const changed = base.replace('"i":2}', '"i":2,"x":1}') + records(4, 'rp-b2');
    let r = await run(['--resume', out], file(dir, 'changed.ndjson', changed));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /record 2 of this input \(line 2\) is not the record/);
    r = await run(['--resume', out], file(dir, 'blank.ndjson', '\n' + base));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /record 1 of this input \(line 2\) is not the record/);
    assert.deepEqual(readFileSync(out), before);
    assert.equal(sent('rp-b2'), 0);
  });

  test('the same input: continues where it stopped, the file equals one uninterrupted run (and again after a second stop)', async () => {
    const dir = tempDir();
    const input = file(dir, 'in.ndjson', records(9, 'rp-c'));
    const out = await interrupted(dir, input, 2);
    const full = join(dir, 'full.ndjson');
    assert.equal((await run([full], input)).code, 0);
    let r = await run(['--resume', out], input);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /resuming .*: 2 records already answered/);
    const strip = (ls: string[]): string[] => ls.map((l) => l.replace(/"latencyMs":\d+/, ''));
    assert.deepEqual(strip(lines(out)), strip(lines(full)));
    // Stopped again (7 kept), the digests past the outfile's end are replaced, not appended to.
    writeFileSync(
      out,
      lines(out)
        .slice(0, 7)
        .map((l) => l + '\n')
        .join(''),
    );
    r = await run(['--resume', out], input);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(strip(lines(out)), strip(lines(full)));
    assert.deepEqual(readFileSync(`${out}.sm-invoke.digests`), readFileSync(`${full}.sm-invoke.digests`));
  });

  test('--resume-failed over another input: exit 2, the outfile untouched, no temporary file left', async () => {
    const dir = tempDir();
    const out = await interrupted(dir, file(dir, 'in.ndjson', records(4, 'rp-d')), 4);
    const before = readFileSync(out);
    const r = await run(['--resume-failed', out], file(dir, 'other.ndjson', records(4, 'rp-d2')));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--resume-failed: record 1 of this input .*not the same input/);
    assert.deepEqual(readFileSync(out), before);
    assert.deepEqual(readdirSync(dir).sort(), ['in.ndjson', 'other.ndjson', 'out.ndjson', 'out.ndjson.sm-invoke.digests']);
  });

  test('an outfile without a digest file (an older sm-invoke, or moved without it): exit 2, a message that says why', async () => {
    const dir = tempDir();
    const input = file(dir, 'in.ndjson', records(3, 'rp-e'));
    const out = await interrupted(dir, input, 2);
    const before = readFileSync(out);
    const { rmSync } = await import('node:fs');
    rmSync(`${out}.sm-invoke.digests`);
    const r = await run(['--resume', out], input);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /--resume: .*out\.ndjson has no digest file \(.*out\.ndjson\.sm-invoke\.digests\), so nothing proves that its 2 results answer the first 2 records/,
    );
    assert.deepEqual(readFileSync(out), before);
  });

  test('a digest file with fewer digests than the outfile has results: exit 2', async () => {
    const dir = tempDir();
    const input = file(dir, 'in.ndjson', records(3, 'rp-f'));
    const out = await interrupted(dir, input, 3);
    const d = `${out}.sm-invoke.digests`;
    truncateSync(d, readFileSync(d).length - 8);
    const r = await run(['--resume', out], input);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /has digests for 2 records but .*out\.ndjson holds 3 results/);
  });
});

describe('the same proof with batching and shards (they share the resume machinery)', () => {
  test('--batch-size 4: another input refused, the same one continued', async () => {
    const dir = tempDir();
    const input = file(dir, 'in.ndjson', records(10, 'rp-i'));
    const out = await interrupted(dir, input, 5, ['--batch-size', '4']);
    let r = await run(['--batch-size', '4', '--resume', out], file(dir, 'other.ndjson', records(10, 'rp-i2')));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /record 1 of this input .*not the same input/);
    assert.equal(sent('rp-i2'), 0);
    r = await run(['--batch-size', '4', '--resume', out], input);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      lines(out).map((l) => (JSON.parse(l) as { line: number }).line),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
  });

  test("--shard 1/3: the digests are of this shard's records; another input refused, the same one continued", async () => {
    const dir = tempDir();
    const input = file(dir, 'in.ndjson', records(12, 'rp-j'));
    const out = await interrupted(dir, input, 2, ['--shard', '1/3']);
    let r = await run(['--shard', '1/3', '--resume', out], file(dir, 'other.ndjson', records(12, 'rp-j').replace('"i":5}', '"i":55}')));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /record 2 of this input \(line 5\) is not the record/);
    r = await run(['--shard', '1/3', '--resume', out], input);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      lines(out).map((l) => (JSON.parse(l) as { line: number }).line),
      [2, 5, 8, 11],
    );
  });
});

describe('--resume refuses to mix formats or continue a damaged file', () => {
  test('an --output result file resumed with --output body, and a body file with --output result: exit 2, untouched', async () => {
    const dir = tempDir();
    const input = file(dir, 'in.ndjson', records(4, 'rp-g'));
    const out = await interrupted(dir, input, 2);
    const before = readFileSync(out);
    let r = await run(['--resume', '--output', 'body', out], input);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--resume: .*out\.ndjson holds --output result lines .*but this run has --output body: give --output result to continue it/);
    assert.deepEqual(readFileSync(out), before);

    const bodyDir = tempDir();
    const bodies = await interrupted(bodyDir, input, 2, ['--output', 'body']);
    const bodyBefore = readFileSync(bodies);
    r = await run(['--resume', bodies], input);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /holds --output body lines .*but this run has --output result: give --output body/);
    assert.deepEqual(readFileSync(bodies), bodyBefore);
    r = await run(['--resume', '--output', 'body', bodies], input);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(lines(bodies).length, 4);
  });

  test('a torn line in the middle of the outfile: exit 2, nothing sent, untouched; a torn last line is still dropped', async () => {
    const dir = tempDir();
    const input = file(dir, 'in.ndjson', records(5, 'rp-h'));
    const out = await interrupted(dir, input, 4);
    const ls = lines(out);
    const damaged = [ls[0], ls[1]!.slice(0, 30), ls[2], ls[3]].map((l) => l + '\n').join('');
    writeFileSync(out, damaged);
    const sentBefore = sent('rp-h');
    let r = await run(['--resume', out], input);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--resume: line 2 of .*out\.ndjson: it is not a whole JSON line \(a result cut short/);
    assert.equal(readFileSync(out, 'utf8'), damaged);
    assert.equal(sent('rp-h'), sentBefore);

    writeFileSync(out, [ls[0], ls[1], ls[2]].map((l) => l + '\n').join('') + ls[3]!.slice(0, 20));
    r = await run(['--resume', out], input);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /dropping a torn last line of 20 bytes/);
    assert.equal(lines(out).length, 5);
    assert.ok(existsSync(out));
  });
});
