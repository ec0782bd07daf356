// The packaged single executable, run the way a user gets it: a lone file in
// a fresh directory, no node on PATH, no NODE_OPTIONS, no node_modules in reach.
import { test, before, beforeEach, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireTools } from '../helpers/tools.js';

// Compiled to dist/lib/test/e2e/binary.test.js: the repo root is four levels up.
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const builtBinary = join(root, 'dist', 'sm-invoke');
const version: string = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const notBuilt = existsSync(builtBinary) ? undefined : 'dist/sm-invoke is not built (run: npm run build)';

let dir = '';
let binary = '';
let env: NodeJS.ProcessEnv = {};

beforeEach(() => requireTools(notBuilt));

before(() => {
  if (notBuilt) return;
  dir = mkdtempSync(join(tmpdir(), 'sm-invoke-binary-test-'));
  const emptyBin = join(dir, 'empty-bin');
  mkdirSync(emptyBin);
  binary = join(dir, 'sm-invoke');
  copyFileSync(builtBinary, binary);
  chmodSync(binary, 0o755);
  // PATH names only an empty directory (/usr/bin has a node on this machine).
  env = { PATH: emptyBin, HOME: dir, LANG: 'C' };
  assert.deepEqual(readdirSync(emptyBin), []);
  for (let p = dir; ; p = dirname(p)) {
    assert.ok(!existsSync(join(p, 'node_modules')), `node_modules reachable from the temp dir at ${p}`);
    if (dirname(p) === p) break;
  }
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function run(args: string[]): SpawnSyncReturns<string> {
  const r = spawnSync(binary, args, { cwd: dir, env, encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) throw r.error;
  return r;
}

test('--version prints sm-invoke and the package.json version', () => {
  const r = run(['--version']);
  assert.equal(r.stdout, `sm-invoke ${version}\n`);
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
});

test('--help exits 0 with usage text on stdout', () => {
  const r = run(['--help']);
  assert.equal(r.status, 0, `stderr: ${r.stderr}`);
  assert.match(r.stdout, /usage/i);
  assert.match(r.stdout, /sm-invoke/);
  assert.equal(r.stderr, '');
});

test('an unknown option is a usage error: exit 2, one stderr line naming it', () => {
  const r = run(['--no-such-option']);
  assert.equal(r.status, 2, `stdout: ${r.stdout} stderr: ${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^[^\n]+\n$/, `expected exactly one line on stderr, got ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, /--no-such-option/);
});

test('it is not a plain node: node flags such as -e are not honoured', () => {
  const r = run(['-e', 'console.log(1)']);
  assert.ok(!r.stdout.split('\n').includes('1'), `-e ran as node code: stdout ${JSON.stringify(r.stdout)}`);
  assert.doesNotMatch(r.stdout, /^v\d+\.\d+\.\d+/);
});

/** Starts `sm-invoke emulate` from the lone binary and returns its URL and a stop function. */
async function startBinaryEmulator(): Promise<{ url: string; stop: () => Promise<number | null> }> {
  const { spawn } = await import('node:child_process');
  const child = spawn(binary, ['emulate', '--port', '0', '--quiet'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let seen = '';
    child.stdout.on('data', (c: Buffer) => {
      seen += c.toString();
      const m = /^sm-invoke emulator listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(seen);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`emulate exited early with ${code}`)));
  });
  const stop = () =>
    new Promise<number | null>((resolve) => {
      child.on('exit', (code) => resolve(code));
      child.kill('SIGTERM');
    });
  return { url, stop };
}

test('emulate + a piped run, both from the lone binary: results in order, exit codes', async () => {
  const { spawn } = await import('node:child_process');
  const emu = await startBinaryEmulator();
  try {
    const input = '{"n":1}\n{"n":2}\n\n{"n":3}\n';
    const runEnv = {
      ...env,
      AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(binary, ['--endpoint-name', 'demo', '--content-type', 'application/json', '--endpoint-url', emu.url, '--concurrency', '2'], {
        cwd: dir,
        env: runEnv,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
      });
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
      });
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(input);
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; ok: boolean; body: { body: string } });
    assert.deepEqual(
      lines.map((l) => l.line),
      [1, 2, 4],
    );
    assert.deepEqual(
      lines.map((l) => JSON.parse(l.body.body)),
      [{ n: 1 }, { n: 2 }, { n: 3 }],
    );
    assert.ok(lines.every((l) => l.ok));
  } finally {
    assert.equal(await emu.stop(), 0, 'emulate exits 0 on SIGTERM');
  }
});
