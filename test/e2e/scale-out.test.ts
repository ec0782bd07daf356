// Scale-out end to end, through the built executable: --shard I/N runs started by GNU parallel
// against the emulator, joined by `sm-invoke merge`, equal to one unsharded run (but for the
// attempts and latency of each answer); a shard killed mid-run and resumed; the merge's refusals.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test, beforeEach } from 'node:test';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { BINARY, runCli, scrubbedEnv, tempDir } from '../helpers/cli.js';
import { requireTools } from '../helpers/tools.js';
import { bash, type ShellRun } from '../helpers/shell.js';

// GNU parallel is installed by scripts/setup-tests.sh: its absence is a failure, never a skip.
const hasParallel = spawnSync('sh', ['-c', 'command -v parallel'], { stdio: 'ignore' }).status === 0;

let emu: Emulator;
let dir: string;
const env = scrubbedEnv();
before(async () => {
  emu = await startEmulator({ endpoints: { demo: {}, slow: { latencyMs: 25 } } });
  dir = tempDir('sm-invoke-scale-');
});
after(() => emu.close());

/** 203 lines: records, two blank lines (both in shard 1/2), and a record that is not valid JSON for --envelope. */
function input(): string {
  const lines: string[] = [];
  for (let i = 1; i <= 203; i++) {
    if (i === 50 || i === 152) lines.push('');
    else if (i === 77) lines.push('not json');
    else lines.push(JSON.stringify({ body: { i }, inferenceId: `id-${i}`, meta: { i } }));
  }
  return lines.join('\n') + '\n';
}

const run = (args: string[], stdin = ''): ReturnType<typeof runCli> => runCli(args, { command: BINARY, env, input: stdin });
const common = (endpoint = 'demo'): string[] => ['--endpoint-name', endpoint, '--endpoint-url', emu.url, '--envelope'];
/** A result line without what differs from run to run. */
const stable = (text: string): string[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/,"attempts":\d+/, '').replace(/,"latencyMs":\d+/, ''));

/** bash -c SCRIPT, asynchronously (the emulator runs in this process). */
function sh(script: string, cwd: string): Promise<ShellRun> {
  return bash(script, cwd, { ...env, SMI: BINARY, URL: emu.url });
}

describe('--shard I/N under GNU parallel, joined by merge', () => {
  beforeEach(() => requireTools(!hasParallel && 'GNU parallel is not installed (Debian package parallel)'));
  test('4 shards merged equal one unsharded run', async () => {
    const d = join(dir, 'parallel');
    spawnSync('mkdir', ['-p', d]);
    writeFileSync(join(d, 'in.ndjson'), input());
    const single = await run([...common(), join(d, 'single.ndjson')], input());
    assert.equal(single.code, 1, single.stderr); // line 77 is a record error
    const p = await sh(
      'parallel -j4 "$SMI --endpoint-name demo --endpoint-url $URL --envelope --concurrency auto --shard {}/4 out.{}.ndjson < in.ndjson" ::: 0 1 2 3; echo "parallel exit $?" >&2',
      d,
    );
    // Shard 0 has line 77 (a record error): its exit is 1, which parallel reports as 1 failed job.
    assert.match(p.stderr, /parallel exit 1\n$/, p.stderr);
    for (let i = 0; i < 4; i++) {
      const side = JSON.parse(readFileSync(join(d, `out.${i}.ndjson.shard.json`), 'utf8'));
      assert.equal(side.shard, `${i}/4`);
      assert.equal(side.complete.inputLines, 203);
    }
    const m = await sh('"$SMI" merge out.0.ndjson out.1.ndjson out.2.ndjson out.3.ndjson > merged.ndjson', d);
    assert.equal(m.status, 0, m.stderr);
    const merged = readFileSync(join(d, 'merged.ndjson'), 'utf8');
    assert.deepEqual(stable(merged), stable(readFileSync(join(d, 'single.ndjson'), 'utf8')));
    assert.equal(stable(merged).length, 201);
    // Every shard sent only its own lines.
    const own = readFileSync(join(d, 'out.2.ndjson'), 'utf8').split('\n').filter(Boolean);
    for (const l of own) assert.equal((JSON.parse(l).line - 1) % 4, 2, l);
  });
});

describe('a killed shard resumes', () => {
  test('SIGKILL mid-run, then --resume with the same --shard completes it; another spec is refused', async () => {
    const d = tempDir('sm-invoke-scale-kill-');
    const text = input();
    const out = join(d, 'out.1.ndjson');
    const args = [...common('slow'), '--concurrency', '2', '--shard', '1/4', out];
    const child = spawn(BINARY, args, { env, stdio: ['pipe', 'ignore', 'pipe'] });
    child.stdin.end(text);
    // Kill once a few results are on disk.
    for (let i = 0; i < 400 && (!existsSync(out) || readFileSync(out, 'utf8').split('\n').length < 6); i++) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    const before = readFileSync(out, 'utf8').split('\n').filter(Boolean).length;
    assert.ok(before >= 5 && before < 50, `${before} results before the kill`);
    assert.equal(JSON.parse(readFileSync(`${out}.shard.json`, 'utf8')).complete, undefined);

    const other = await run([...common('slow'), '--shard', '2/4', '--resume', out], text);
    assert.equal(other.code, 2, other.stderr);
    assert.match(other.stderr, /holds the results of --shard 1\/4, not of --shard 2\/4/);
    const none = await run([...common('slow'), '--resume', out], text);
    assert.equal(none.code, 2, none.stderr);
    assert.match(none.stderr, /was made with --shard 1\/4/);

    const resumed = await run([...common('slow'), '--concurrency', '8', '--shard', '1/4', '--resume', out], text);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /records already answered/);
    const lines = readFileSync(out, 'utf8').split('\n').filter(Boolean);
    const expectedLines = Array.from({ length: 203 }, (_, i) => i + 1).filter((l) => (l - 1) % 4 === 1 && l !== 50 && l !== 152);
    assert.deepEqual(
      lines.map((l) => JSON.parse(l).line),
      expectedLines,
    );
    assert.deepEqual(JSON.parse(readFileSync(`${out}.shard.json`, 'utf8')).complete, { inputLines: 203, records: expectedLines.length });
  });

  test('a resumed shard checks its input by its own records', async () => {
    const d = tempDir('sm-invoke-scale-input-');
    const out = join(d, 'out.3.ndjson');
    const done = await run([...common(), '--shard', '3/4', out], input());
    assert.equal(done.code, 0, done.stderr);
    // Another input: the shard's last answer is for another line of it.
    const shifted = `\n${input()}`;
    const r = await run([...common(), '--shard', '3/4', '--resume', out], shifted);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /not the same input/);
  });
});

describe('merge refuses what is not one complete result', () => {
  let d: string;
  before(async () => {
    d = tempDir('sm-invoke-scale-merge-');
    for (let i = 0; i < 2; i++) {
      const r = await run([...common(), '--shard', `${i}/2`, join(d, `two.${i}.ndjson`)], input());
      assert.ok(r.code === 0 || r.code === 1, r.stderr);
    }
    const q = await run([...common(), '--shard', '1/3', join(d, 'three.1.ndjson')], input());
    assert.ok(q.code === 0 || q.code === 1, q.stderr);
  });
  const merge = (args: string[]): ReturnType<typeof runCli> => runCli(['merge', ...args], { command: BINARY, env, cwd: d });

  test('duplicates (the same results under two names, no sidecars)', async () => {
    copyFileSync(join(d, 'two.0.ndjson'), join(d, 'a.ndjson'));
    copyFileSync(join(d, 'two.0.ndjson'), join(d, 'b.ndjson'));
    const r = await merge(['a.ndjson', 'b.ndjson']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /merge: line 1 has a result in both a\.ndjson and b\.ndjson \(duplicate\)/);
  });

  test('a shard given twice, a missing shard, mixed specs', async () => {
    let r = await merge(['two.0.ndjson', 'two.0.ndjson']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /both shard 0\/2/);
    r = await merge(['two.0.ndjson']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no file for shard 1\/2/);
    r = await merge(['two.0.ndjson', 'three.1.ndjson']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /mixed shard specs: two\.0\.ndjson is shard 0\/2 but three\.1\.ndjson is shard 1\/3/);
    // A sidecar that lies about its file: the lines say which shard they are.
    copyFileSync(join(d, 'three.1.ndjson'), join(d, 'fake.1.ndjson'));
    writeFileSync(join(d, 'fake.1.ndjson.shard.json'), '{"shard":"1/2","output":"result"}\n');
    // (--partial: the fake sidecar has no "complete", which alone refuses the merge.)
    r = await merge(['--partial', 'two.0.ndjson', 'fake.1.ndjson']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /fake\.1\.ndjson line 1: input line 2 belongs to shard 1\/2.*|fake\.1\.ndjson line \d+: input line \d+ belongs to shard 0\/2, not to this file's shard 1\/2: mixed shard specs/,
    );
  });

  test('gaps: a result missing from a complete shard is named, with or without blank lines', async () => {
    // Shard 0/2 has no blank line (50 and 152 are even): the missing line itself is named.
    const zero = readFileSync(join(d, 'two.0.ndjson'), 'utf8').split('\n');
    writeFileSync(join(d, 'gap.0.ndjson'), zero.filter((l) => !l.startsWith('{"line":9,')).join('\n'));
    copyFileSync(join(d, 'two.0.ndjson.shard.json'), join(d, 'gap.0.ndjson.shard.json'));
    let r = await merge(['gap.0.ndjson', 'two.1.ndjson']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /gap\.0\.ndjson \(shard 0\/2\) has no result for input line 9 \(the next one it has is line 11\): missing/);
    // Shard 1/2 holds the blank lines 50 and 152: only the count can tell, at the end.
    const lines = readFileSync(join(d, 'two.1.ndjson'), 'utf8').split('\n');
    writeFileSync(join(d, 'gap.1.ndjson'), lines.filter((l) => !l.startsWith('{"line":10,')).join('\n'));
    copyFileSync(join(d, 'two.1.ndjson.shard.json'), join(d, 'gap.1.ndjson.shard.json'));
    r = await merge(['two.0.ndjson', 'gap.1.ndjson']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /gap\.1\.ndjson \(shard 1\/2\) has 98 results but its run answered 99 records of an input of 203 lines: 1 missing/);
    // The last lines of a shard missing (a truncated upload).
    writeFileSync(join(d, 'cut.0.ndjson'), zero.slice(0, 50).join('\n') + '\n');
    copyFileSync(join(d, 'two.0.ndjson.shard.json'), join(d, 'cut.0.ndjson.shard.json'));
    r = await merge(['cut.0.ndjson', 'two.1.ndjson']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cut\.0\.ndjson \(shard 0\/2\) has 50 results but its run answered 102 records.*first one missing is for input line 101/);
  });

  test('--lines without sidecars; an unsharded file; body files; a file that is not results', async () => {
    const plain = tempDir('sm-invoke-scale-plain-');
    const text = Array.from({ length: 30 }, (_, i) => JSON.stringify({ body: { i } })).join('\n') + '\n';
    const r1 = await run([...common(), join(plain, 'all.ndjson')], text);
    assert.equal(r1.code, 0, r1.stderr);
    const ok = await runCli(['merge', '--lines', '30', 'all.ndjson'], { command: BINARY, env, cwd: plain });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.lines.length, 30);
    const gap = await runCli(['merge', '--lines', '32', 'all.ndjson'], { command: BINARY, env, cwd: plain });
    assert.equal(gap.code, 1);
    assert.match(gap.stderr, /no file among the 1 given has a result for input lines 31-32 \(--lines 32\): missing/);
    const body = await run([...common(), '--output', 'body', '--shard', '0/2', join(plain, 'body.0.ndjson')], text);
    assert.equal(body.code, 0, body.stderr);
    const b = await runCli(['merge', 'body.0.ndjson'], { command: BINARY, env, cwd: plain });
    assert.equal(b.code, 1);
    assert.match(b.stderr, /was written with --output body.*body lines carry no line numbers/);
    writeFileSync(join(plain, 'bodies.ndjson'), '{"a":1}\n');
    const c = await runCli(['merge', 'bodies.ndjson'], { command: BINARY, env, cwd: plain });
    assert.equal(c.code, 1);
    assert.match(c.stderr, /bodies\.ndjson line 1 is not an sm-invoke result line/);
    const missing = await runCli(['merge', 'nope.ndjson'], { command: BINARY, env, cwd: plain });
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /nope\.ndjson/);
  });

  test('--shard is checked', async () => {
    for (const [spec, msg] of [
      ['4/4', /index I must be from 0 to 3/],
      ['0/0', /number of shards N must be 1 or more/],
      ['1-4', /--shard must be I\/N/],
    ] as const) {
      const r = await run([...common(), '--shard', spec], '');
      assert.equal(r.code, 2, spec);
      assert.match(r.stderr, msg);
    }
  });
});
