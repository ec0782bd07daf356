import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runEmulatorCli } from '../../src/emulator/cli.js';
import { admin, send } from './fixtures/client.js';
import { haveOpenssl, makeTestCerts } from '../helpers/tls.js';
import { requireTools } from '../helpers/tools.js';

const RUN_CLI = fileURLToPath(new URL('./fixtures/run-cli.js', import.meta.url));
const LISTENING = /^sm-invoke emulator listening on (http:\/\/127\.0\.0\.1:(\d+))\n$/;

interface Child {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function spawnCli(args: string[]): Child {
  const proc = spawn(process.execPath, [RUN_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = once(proc, 'close').then(([code]) => code as number | null);
  return { proc, stdout: () => out, stderr: () => err, exit };
}

/** Waits for the one stdout line and returns the port. */
async function listening(child: Child): Promise<number> {
  while (!child.stdout().endsWith('\n')) {
    if (child.proc.exitCode !== null) throw new Error(`exited early: ${child.stderr()}`);
    await once(child.proc.stdout!, 'data');
  }
  const m = LISTENING.exec(child.stdout());
  assert.ok(m, `unexpected stdout: ${JSON.stringify(child.stdout())}`);
  return Number(m[2]);
}

async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const ac = new AbortController();
  ac.abort(); // stop right after starting, if it starts
  const code = await runEmulatorCli(argv, { stdout: (s) => (out += s), stderr: (s) => (err += s), signal: ac.signal });
  return { code, out, err };
}

describe('sm-invoke emulate (process)', () => {
  test('prints exactly one line, serves signed requests, exits 0 on SIGTERM', async () => {
    const child = spawnCli(['--port', '0', '--quiet']);
    const port = await listening(child);
    assert.equal((await send(port)).status, 200);
    child.proc.kill('SIGTERM');
    assert.equal(await child.exit, 0);
    assert.match(child.stdout(), LISTENING);
    assert.equal(child.stderr(), '');
  });

  test('logs one stderr line per request unless --quiet; SIGINT also stops it', async () => {
    const child = spawnCli([]);
    const port = await listening(child);
    await send(port, { endpoint: 'nope' });
    while (!/ POST [^\n]*\n/.test(child.stderr())) await once(child.proc.stderr!, 'data');
    assert.match(
      child.stderr(),
      /^sm-invoke emulator: accepting access key id AKIAIOSFODNN7EXAMPLE [^\n]*\n\S+ POST \/endpoints\/nope\/invocations 400 ValidationError attempt=1\n$/,
    );
    child.proc.kill('SIGINT');
    assert.equal(await child.exit, 0);
  });

  test('flags and --config: endpoints, region, credentials, latency', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'emu-cli-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ seed: 3, endpoints: { 'from-file': { variants: [{ name: 'V1' }] } } }));
    const child = spawnCli([
      '--config',
      file,
      '--endpoint',
      'from-flag',
      '--region',
      'eu-west-1',
      '--latency-ms',
      '1',
      '--access-key-id',
      'AKIACLI',
      '--secret-access-key',
      'cli-secret',
      '--quiet',
    ]);
    t.after(() => child.proc.kill('SIGTERM'));
    const port = await listening(child);
    const credentials = { accessKeyId: 'AKIACLI', secretAccessKey: 'cli-secret' };
    const a = await send(port, { endpoint: 'from-file', region: 'eu-west-1', credentials });
    assert.equal(a.status, 200);
    assert.equal(a.headers['x-amzn-invoked-production-variant'], 'V1');
    assert.equal((await send(port, { endpoint: 'from-flag', region: 'eu-west-1', credentials })).status, 200);
    assert.equal((await send(port, { endpoint: 'demo', region: 'eu-west-1', credentials })).status, 400);
    assert.equal((await send(port, { endpoint: 'from-flag', region: 'eu-west-1' })).status, 403);
    const config = (await admin(port, 'GET', '/_emulator/config')).json;
    assert.equal(config.latencyMs, 1);
    assert.equal(config.seed, 3);
  });

  test('bad flags: one stderr line, exit 2, no stack trace', async () => {
    for (const args of [['--bogus'], ['--port', 'x'], ['--port', '70000'], ['--access-key-id', 'K'], ['--config', '/nonexistent/x.json'], ['extra']]) {
      const child = spawnCli(args);
      assert.equal(await child.exit, 2, args.join(' '));
      assert.equal(child.stdout(), '');
      assert.match(child.stderr(), /^sm-invoke emulate: [^\n]+\n$/, args.join(' '));
      assert.doesNotMatch(child.stderr(), /\n\s+at /);
    }
  });
});

describe('runEmulatorCli (in process)', () => {
  test('--help prints usage to stdout and returns 0', async () => {
    const r = await capture(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.out, /^usage: sm-invoke emulate \[options\]/);
    assert.equal(r.err, '');
    // The key pair it accepts with no config: the AWS documentation's example, as printed there.
    assert.match(r.out, /AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n/);
    assert.match(r.out, /AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI\/K7MDENG\/bPxRfiCYEXAMPLEKEY\n/);
  });

  test('on start it names the access key id it accepts (on stderr; stdout stays one line)', async () => {
    const r = await capture(['--port', '0']);
    assert.equal(r.code, 0);
    assert.match(r.out, LISTENING);
    assert.match(r.err, /accepting access key id AKIAIOSFODNN7EXAMPLE /);
    const own = await capture(['--port', '0', '--access-key-id', 'AKIAOWN', '--secret-access-key', 's']);
    assert.match(own.err, /accepting access key id AKIAOWN\n/);
  });

  test('a bad config file is a usage error naming the field', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'emu-cli-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{"endpoints":{"x":{"variants":[]}}}');
    let r = await capture(['--config', bad]);
    assert.equal(r.code, 2);
    assert.equal(r.err, 'sm-invoke emulate: config.endpoints.x.variants must be a non-empty array, got []\n');
    await writeFile(bad, '[1]');
    r = await capture(['--config', bad]);
    assert.equal(r.code, 2);
    assert.match(r.err, /config must be a JSON object/);
  });

  test('a port in use -> exit 1 with one line', async () => {
    const first = await capture(['--port', '0']); // starts and stops: proves the abort path
    assert.equal(first.code, 0);
    assert.match(first.out, LISTENING);
    const child = spawnCli(['--quiet']);
    const port = await listening(child);
    const r = await capture(['--port', String(port)]);
    child.proc.kill('SIGTERM');
    await child.exit;
    assert.equal(r.code, 1);
    assert.equal(r.err, `sm-invoke emulate: cannot listen on 127.0.0.1:${port}: EADDRINUSE\n`);
  });

  test('--tls-cert/--tls-key: serves HTTPS with that certificate; missing or half given is a usage error', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'emu-cli-tls-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    let r = await capture(['--tls-cert', join(dir, 'nope.pem')]);
    assert.equal(r.code, 2);
    assert.equal(r.err, 'sm-invoke emulate: --tls-cert and --tls-key must be given together\n');
    r = await capture(['--tls-cert', join(dir, 'nope.pem'), '--tls-key', join(dir, 'nope.key')]);
    assert.equal(r.code, 2);
    assert.match(r.err, /cannot read --tls-cert .*nope\.pem: ENOENT/);
    requireTools(!haveOpenssl() && 'openssl is not installed (Debian package openssl), needed to make a test certificate');
    const certs = makeTestCerts(dir);
    r = await capture(['--tls-cert', certs.certFile, '--tls-key', certs.keyFile]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^sm-invoke emulator listening on https:\/\/127\.0\.0\.1:\d+\n$/);
    const swapped = await capture(['--tls-cert', certs.keyFile, '--tls-key', certs.certFile]);
    assert.equal(swapped.code, 2);
    assert.match(swapped.err, /^sm-invoke emulate: --tls-cert \/ --tls-key: /);
  });
});
