// The edges of data safety: the same file through hard links (locks and same-file checks by device
// and inode), --body's outfile checked before the call, the count of results really written after a
// write error, a killed --resume-failed's temporary file removed by the next run, and --stats-json
// after a --resume counting the failures already in the outfile.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, linkSync, mkdirSync, openSync, readFileSync, readdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { BINARY, scrubbedEnv, tempDir } from '../helpers/cli.js';

let emu: Emulator;
before(async () => {
  emu = await startEmulator({ endpoints: { demo: {} } });
});
after(() => emu.close());

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function start(given: string[], stdinPath?: string) {
  // (The records go to stdin, so that these cases run the same on a build without --input.)
  const args = [...given];
  const i = args.indexOf('--input');
  if (i !== -1) stdinPath = args.splice(i, 2)[1];
  const fd = stdinPath !== undefined ? openSync(stdinPath, 'r') : 'ignore';
  const child = spawn(BINARY, ['--endpoint-url', emu.url, '--endpoint-name', 'demo', ...args], { env: scrubbedEnv(), stdio: [fd, 'pipe', 'pipe'] });
  if (typeof fd === 'number') closeSync(fd);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => out.push(c));
  child.stderr!.on('data', (c: Buffer) => err.push(c));
  const done = (async (): Promise<Run> => {
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    return { code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
  })();
  return { child, done };
}

const run = (args: string[], stdinPath?: string): Promise<Run> => start(args, stdinPath).done;
const sent = (tag: string): number => emu.log.filter((e) => e.body.toString().includes(`"t":"${tag}"`)).length;
const lines = (p: string): string[] => readFileSync(p, 'utf8').split('\n').filter(Boolean);
const slow = (n: number, tag: string, ms: number): string =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ t: tag, i: i + 1, __emulator: { latencyMs: ms } })).join('\n') + '\n';
const records = (n: number, tag: string): string => Array.from({ length: n }, (_, i) => JSON.stringify({ t: tag, i: i + 1 })).join('\n') + '\n';

function file(dir: string, name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), what);
}

describe('hard links: one file, whatever its names', () => {
  test('two --resume runs on two hard-linked names: the second exits 2 at once, naming the first; nothing is sent twice', async () => {
    const dir = tempDir();
    const input = file(dir, 'in.ndjson', slow(30, 'hl-a', 30));
    const a = join(dir, 'a.ndjson');
    // The outfile exists (an interrupted run's first results), with a second name in another directory.
    const firstTwo = await run(['--input', input, a]);
    assert.equal(firstTwo.code, 0, firstTwo.stderr);
    writeFileSync(
      a,
      lines(a)
        .slice(0, 2)
        .map((l) => l + '\n')
        .join(''),
    );
    mkdirSync(join(dir, 'other'));
    const b = join(dir, 'other', 'b.ndjson');
    linkSync(a, b);
    const sentBefore = sent('hl-a');
    const first = start(['--concurrency', '1', '--resume', '--input', input, a]);
    await until('the first run has started sending', () => sent('hl-a') > sentBefore);
    const second = await run(['--resume', '--input', input, b]);
    assert.equal(second.code, 2, second.stderr);
    assert.match(
      second.stderr,
      /outfile .*b\.ndjson is in use by process \d+ on .*, through another name of the same file, .*a\.ndjson: two runs must not write one outfile/,
    );
    const r1 = await first.done;
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(lines(a).length, 30);
    assert.equal(sent('hl-a') - sentBefore, 28, 'each remaining record sent once');
    assert.deepEqual(readdirSync(join(dir, 'other')), ['b.ndjson'], 'no lock left');
  });

  test('--stats-json on a hard link of the outfile: exit 2, the results untouched', async () => {
    const dir = tempDir();
    const input = file(dir, 'in.ndjson', records(3, 'hl-b'));
    const out = join(dir, 'out.ndjson');
    assert.equal((await run(['--input', input, out])).code, 0);
    const before = readFileSync(out);
    linkSync(out, join(dir, 'stats.json'));
    for (const flags of [['--resume'], ['--force']]) {
      const r = await run([...flags, '--stats-json', join(dir, 'stats.json'), '--input', input, out]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--stats-json .*stats\.json is the outfile: give them different names/);
      assert.deepEqual(readFileSync(out), before);
    }
  });
});

describe('--body: the outfile is checked before the call', () => {
  test('a missing directory, a directory, a path through a file: exit 2 and nothing sent', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'adir'));
    writeFileSync(join(dir, 'afile'), 'x');
    const cases: Array<[string, RegExp]> = [
      [join(dir, 'nodir', 'o.json'), /cannot write .*nodir\/o\.json: its directory does not exist/],
      [join(dir, 'adir'), /cannot write .*adir: it is a directory; nothing was sent/],
      [join(dir, 'afile', 'o.json'), /cannot write .*afile\/o\.json: a part of the path is not a directory/],
    ];
    for (const [outfile, message] of cases) {
      const tag = `body-${cases.findIndex((c) => c[0] === outfile)}`;
      const r = await run(['--body', JSON.stringify({ t: tag }), outfile]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(sent(tag), 0, `${outfile}: nothing sent`);
    }
    const ok = await run(['--body', JSON.stringify({ t: 'body-ok' }), join(dir, 'adir', 'o.json')]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(sent('body-ok'), 1);
  });
});

describe('a killed --resume-failed leaves a temporary file: the next run removes it, and only it', () => {
  test('SIGKILL mid-run, then a run that finishes; other files that look alike are kept', async () => {
    const dir = tempDir();
    const recs = Array.from({ length: 20 }, (_, i) =>
      JSON.stringify({ t: 'tmp-a', i: i + 1, __emulator: i < 10 ? { fault: 'model-error', times: 1 } : { latencyMs: 50 } }),
    );
    const input = file(dir, 'in.ndjson', recs.join('\n') + '\n');
    const out = join(dir, 'out.ndjson');
    let r = await run(['--input', input, out]);
    assert.equal(r.code, 1, r.stderr);
    const temps = (): string[] => readdirSync(dir).filter((n) => n.endsWith('.sm-invoke-tmp'));
    const killed = start(['--concurrency', '1', '--resume-failed', '--input', input, out]);
    await until('the temporary file is there', () => temps().length === 1);
    killed.child.kill('SIGKILL');
    await killed.done;
    const left = temps()[0]!;
    assert.match(left, /^\.out\.ndjson\.\d+\.[0-9a-f]{18}\.sm-invoke-tmp$/);
    // Look-alikes: another outfile's, a live process's (this test's pid), a fresh one without a pid,
    // a symlink; and an old one without a pid (from before the pid was in the name), 2 days old.
    const keep = [
      `.other.ndjson.${99999999}.${'a'.repeat(18)}.sm-invoke-tmp`,
      `.out.ndjson.${process.pid}.${'b'.repeat(18)}.sm-invoke-tmp`,
      `.out.ndjson.${'c'.repeat(18)}.sm-invoke-tmp`,
      `.out.ndjson.${'d'.repeat(18)}.sm-invoke-tmp.bak`,
    ];
    for (const n of keep) writeFileSync(join(dir, n), 'not yours');
    symlinkSync('/etc/hostname', join(dir, `.out.ndjson.${99999998}.${'e'.repeat(18)}.sm-invoke-tmp`));
    const stale = join(dir, `.out.ndjson.${'f'.repeat(18)}.sm-invoke-tmp`);
    writeFileSync(stale, 'old');
    const twoDaysAgo = Date.now() / 1000 - 2 * 86400;
    utimesSync(stale, twoDaysAgo, twoDaysAgo);

    r = await run(['--resume-failed', '--input', input, out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`removed .*${left.replace(/\./g, '\\.')}, a temporary file left by a --resume-failed run that was stopped`));
    assert.equal(existsSync(join(dir, left)), false);
    assert.equal(existsSync(stale), false, 'the 2-day-old one without a pid');
    for (const n of keep) assert.equal(readFileSync(join(dir, n), 'utf8'), 'not yours', n);
    assert.ok(existsSync(join(dir, `.out.ndjson.${99999998}.${'e'.repeat(18)}.sm-invoke-tmp`)), 'a symlink is not removed');
    assert.deepEqual(
      lines(out).map((l) => (JSON.parse(l) as { ok: boolean }).ok),
      Array(20).fill(true),
    );
  });
});

describe('--stats-json after a --resume', () => {
  test('counts the failures already in the outfile, as the exit status does', async () => {
    const dir = tempDir();
    const recs = Array.from({ length: 6 }, (_, i) =>
      JSON.stringify({ t: 'st-a', i: i + 1, ...(i === 1 || i === 3 ? { __emulator: { fault: 'model-error' } } : {}) }),
    );
    const input = file(dir, 'in.ndjson', recs.join('\n') + '\n');
    const out = join(dir, 'out.ndjson');
    assert.equal((await run(['--input', input, out])).code, 1);
    writeFileSync(
      out,
      lines(out)
        .slice(0, 4)
        .map((l) => l + '\n')
        .join(''),
    );
    const stats = join(dir, 'stats.json');
    const r = await run(['--resume', '--stats-json', stats, '--input', input, out]);
    assert.equal(r.code, 1, r.stderr);
    const s = JSON.parse(readFileSync(stats, 'utf8')) as Record<string, unknown>;
    assert.equal(s.exitCode, 1);
    assert.equal(s.records, 6);
    assert.equal(s.resumed, 4);
    assert.equal(s.ok, 2);
    assert.equal(s.failed, 2);
    assert.equal(s.failedBefore, 2);
    assert.deepEqual(s.failuresByCode, { ModelError: 2 });
    assert.deepEqual(s.firstFailedLines, [2, 4]);
  });
});

describe('after a write error, the message counts the results written', () => {
  let mnt: string | undefined;
  before(() => {
    const dir = tempDir();
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { encoding: 'utf8' });
    assert.equal(m.status, 0, `mounting a small tmpfs (needs root): ${m.stderr}`);
    mnt = dir;
  });
  after(() => {
    if (mnt) spawnSync('umount', [mnt]);
  });

  test('a full file system: "stopped after N results" where N is the complete lines in the file', async () => {
    const pad = 'p'.repeat(1500);
    const input = file(tempDir(), 'in.ndjson', Array.from({ length: 80 }, (_, i) => JSON.stringify({ t: 'wr-a', i: i + 1, pad })).join('\n') + '\n');
    const out = join(mnt!, 'out.ndjson');
    const r = await run(['--input', input, '--concurrency', '16', out]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /cannot write results to .*out\.ndjson: ENOSPC/);
    const n = Number(/stopped after (\d+) results?/.exec(r.stderr)?.[1]);
    const text = readFileSync(out, 'utf8');
    const complete = text.split('\n').length - 1;
    assert.ok(complete > 0 && complete < 80, `${complete} complete lines`);
    assert.equal(n, complete, r.stderr);
  });
});
