// merge refuses what would be an incomplete result without a word: a shard whose run did not finish
// (killed midway: its sidecar has no "complete"), a last line cut short, a line that is not whole
// JSON; --partial merges what there is and names what is missing. A file that cannot be read is exit
// 3 with its name, never a stack trace.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, closeSync, copyFileSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { BINARY, scrubbedEnv, tempDir } from '../helpers/cli.js';

let emu: Emulator;
after(() => {
  emu.close();
  if (shared !== undefined) rmSync(dirname(shared), { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The binary where another user can run it: the checkout may sit in a directory only its owner
 * enters (a clone into `mktemp -d`), so a copy goes into a directory of its own, open to all.
 */
let shared: string | undefined;
function binaryFor(): string {
  if (shared === undefined) {
    const dir = tempDir('sm-invoke-merge-bin-');
    chmodSync(dir, 0o755);
    shared = join(dir, 'sm-invoke');
    copyFileSync(BINARY, shared);
    chmodSync(shared, 0o755);
  }
  return shared;
}

async function sm(args: string[], opts: { stdin?: string; cwd?: string; user?: string } = {}): Promise<Run> {
  const fd = opts.stdin !== undefined ? openSync(opts.stdin, 'r') : 'ignore';
  const [cmd, argv] = opts.user ? ['su', [opts.user, '-s', '/bin/sh', '-c', `"$0" "$@"`, binaryFor(), ...args]] : [BINARY, args];
  const child = spawn(cmd, argv as string[], { env: scrubbedEnv(), stdio: [fd, 'pipe', 'pipe'], cwd: opts.cwd });
  if (typeof fd === 'number') closeSync(fd);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => out.push(c));
  child.stderr!.on('data', (c: Buffer) => err.push(c));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

let d: string;
before(async () => {
  emu = await startEmulator({ endpoints: { demo: {} } });
  d = tempDir('sm-invoke-merge-incomplete-');
  const input = join(d, 'in.ndjson');
  writeFileSync(input, Array.from({ length: 30 }, (_, i) => JSON.stringify({ t: 'mi', i: i + 1 })).join('\n') + '\n');
  for (let i = 0; i < 3; i++) {
    const r = await sm(['--endpoint-url', emu.url, '--endpoint-name', 'demo', '--shard', `${i}/3`, join(d, `out.${i}.ndjson`)], { stdin: input });
    assert.equal(r.code, 0, r.stderr);
  }
});

/** A copy of shard `i` as a run killed midway leaves it: its first `keep` lines, and a sidecar without "complete". */
function killedShard(i: number, keep: number, name: string, torn = ''): string {
  const lines = readFileSync(join(d, `out.${i}.ndjson`), 'utf8')
    .split('\n')
    .filter(Boolean);
  writeFileSync(
    join(d, name),
    lines
      .slice(0, keep)
      .map((l) => l + '\n')
      .join('') + torn,
  );
  writeFileSync(join(d, `${name}.shard.json`), JSON.stringify({ shard: `${i}/3`, output: 'result' }) + '\n');
  return name;
}

const parts = (text: string): number[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { line: number }).line);

describe('merge of incomplete shards', () => {
  test('the complete shards merge (exit 0)', async () => {
    const r = await sm(['merge', 'out.0.ndjson', 'out.1.ndjson', 'out.2.ndjson'], { cwd: d });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      parts(r.stdout),
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
  });

  test('a shard killed midway: exit 1 naming it, where its results stop and how to continue; nothing written', async () => {
    const killed = killedShard(1, 3, 'killed.1.ndjson');
    const r = await sm(['merge', 'out.0.ndjson', killed, 'out.2.ndjson'], { cwd: d });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /merge: killed\.1\.ndjson \(shard 1\/3\) is incomplete: its run did not finish \(killed\.1\.ndjson\.shard\.json has no "complete"\); its results stop at input line 8, the rest of its lines are missing\. Continue it \(sm-invoke \.\.\. --shard 1\/3 --resume killed\.1\.ndjson\), or give --partial/,
    );
    assert.equal(r.stdout, '', 'found before anything is written');
  });

  test('--partial merges what there is, names what is missing, exit 0', async () => {
    const killed = killedShard(1, 3, 'partial.1.ndjson');
    const r = await sm(['merge', '--partial', 'out.0.ndjson', killed, 'out.2.ndjson'], { cwd: d });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /--partial: partial\.1\.ndjson \(shard 1\/3\) is incomplete: .*results stop at input line 8: the merged output lacks the rest of its lines/,
    );
    assert.equal(parts(r.stdout).length, 20 + 3);
  });

  test('a last line cut short: exit 1 (never copied); with --partial it is left out', async () => {
    const lines = readFileSync(join(d, 'out.2.ndjson'), 'utf8').split('\n').filter(Boolean);
    writeFileSync(
      join(d, 'torn.2.ndjson'),
      lines
        .slice(0, 9)
        .map((l) => l + '\n')
        .join('') + lines[9]!.slice(0, 25),
    );
    copyFileSync(join(d, 'out.2.ndjson.shard.json'), join(d, 'torn.2.ndjson.shard.json'));
    let r = await sm(['merge', 'out.0.ndjson', 'out.1.ndjson', 'torn.2.ndjson'], { cwd: d });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /merge: torn\.2\.ndjson \(shard 2\/3\) ends with a line cut short \(25 bytes without a newline/);
    assert.equal(r.stdout, '');
    // With --partial: left out; the count from the sidecar still says one is missing (exit 1).
    r = await sm(['merge', '--partial', 'out.0.ndjson', 'out.1.ndjson', 'torn.2.ndjson'], { cwd: d });
    assert.match(r.stderr, /--partial: torn\.2\.ndjson .*ends with a line cut short .*: left out/);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /torn\.2\.ndjson \(shard 2\/3\) has 9 results but its run answered 10 records/);
    assert.doesNotMatch(r.stdout, /"ok":tr\n|[^}]\n/);
    // A killed shard with a torn last line, with --partial: both told, exit 0.
    const killed = killedShard(2, 4, 'killedtorn.2.ndjson', '{"line":15,"ok":tr');
    r = await sm(['merge', '--partial', 'out.0.ndjson', 'out.1.ndjson', killed], { cwd: d });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(parts(r.stdout).length, 20 + 4);
    // A file that is nothing but a cut line.
    writeFileSync(join(d, 'only-cut.ndjson'), '{"line":1,"ok":tr');
    r = await sm(['merge', '--partial', 'only-cut.ndjson'], { cwd: d });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /only-cut\.ndjson ends with a line cut short \(17 bytes/);
  });

  test('a line in the middle that is not whole JSON: exit 1, naming the file and line', async () => {
    const lines = readFileSync(join(d, 'out.0.ndjson'), 'utf8').split('\n').filter(Boolean);
    lines[4] = lines[4]!.slice(0, lines[4]!.length - 3);
    writeFileSync(join(d, 'bad.0.ndjson'), lines.map((l) => l + '\n').join(''));
    copyFileSync(join(d, 'out.0.ndjson.shard.json'), join(d, 'bad.0.ndjson.shard.json'));
    const r = await sm(['merge', 'bad.0.ndjson', 'out.1.ndjson', 'out.2.ndjson'], { cwd: d });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /merge: bad\.0\.ndjson line 5 is not a whole JSON line \(\d+ bytes, starting "\{\\"line\\":13,/);
  });
});

describe('merge: files that cannot be read are exit 3 with their name, never a stack trace', () => {
  test('missing, a directory, unreadable, an unreadable sidecar', async () => {
    mkdirSync(join(d, 'adir'), { recursive: true });
    chmodSync(d, 0o755); // (another user may look in it, not read locked.ndjson)
    copyFileSync(join(d, 'out.0.ndjson'), join(d, 'locked.ndjson'));
    chmodSync(join(d, 'locked.ndjson'), 0o600);
    copyFileSync(join(d, 'out.0.ndjson'), join(d, 'side.0.ndjson'));
    mkdirSync(join(d, 'side.0.ndjson.shard.json'), { recursive: true });
    const cases: Array<[string[], RegExp, string?]> = [
      [['nope.ndjson'], /^sm-invoke: merge: cannot read nope\.ndjson: no such file\n$/],
      [['adir'], /^sm-invoke: merge: cannot read adir: it is a directory\n$/],
      [[join(d, 'locked.ndjson')], /^sm-invoke: merge: cannot read .*locked\.ndjson: permission denied\n$/, 'nobody'],
      [['side.0.ndjson'], /^sm-invoke: merge: cannot read side\.0\.ndjson\.shard\.json: /],
    ];
    for (const [args, message, user] of cases) {
      const r = await sm(['merge', ...args], { cwd: d, ...(user ? { user } : {}) });
      assert.equal(r.code, 3, `${args}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });
});
