// The packaged single executable, run the way a user gets it: a lone file in
// a fresh directory, no node on PATH, no NODE_OPTIONS, no node_modules in reach.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Compiled to dist/lib/test/binary.test.js: the repo root is three levels up.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const builtBinary = join(root, 'dist', 'sm-invoke');
const version: string = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const skip = existsSync(builtBinary) ? false : 'dist/sm-invoke not built (run: npm run build)';

let dir = '';
let binary = '';
let env: NodeJS.ProcessEnv = {};

before(() => {
  if (skip) return;
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

test('--version prints sm-invoke and the package.json version', { skip }, () => {
  const r = run(['--version']);
  assert.equal(r.stdout, `sm-invoke ${version}\n`);
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
});

test('--help exits 0 with usage text on stdout', { skip }, () => {
  const r = run(['--help']);
  assert.equal(r.status, 0, `stderr: ${r.stderr}`);
  assert.match(r.stdout, /usage/i);
  assert.match(r.stdout, /sm-invoke/);
  assert.equal(r.stderr, '');
});

test('an unknown option is a usage error: exit 2, one stderr line naming it', { skip }, () => {
  const r = run(['--no-such-option']);
  assert.equal(r.status, 2, `stdout: ${r.stdout} stderr: ${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^[^\n]+\n$/, `expected exactly one line on stderr, got ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, /--no-such-option/);
});

test('it is not a plain node: node flags such as -e are not honoured', { skip }, () => {
  const r = run(['-e', 'console.log(1)']);
  assert.ok(!r.stdout.split('\n').includes('1'), `-e ran as node code: stdout ${JSON.stringify(r.stdout)}`);
  assert.doesNotMatch(r.stdout, /^v\d+\.\d+\.\d+/);
});
