// run(options, io) in-process: the whole run (files, AWS setup, pipeline, report, exit code) against
// the emulator, with in-memory streams instead of the process's — no child process to spawn.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { parseArgs, type Options } from '../../../src/cli/args.js';
import type { Io } from '../../../src/cli/io.js';
import { run } from '../../../src/cli/run.js';
import { startEmulator, type Emulator } from '../../../src/emulator/server.js';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY, tempDir } from '../../helpers/cli.js';

let emu: Emulator;
before(async () => {
  emu = await startEmulator({ endpoints: { demo: {} } });
  // The SDK's loaders read the process's environment: this test process gets a scrubbed one.
  const home = tempDir('sm-invoke-run-home-');
  Object.assign(process.env, {
    HOME: home,
    AWS_CONFIG_FILE: join(home, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
  });
  for (const k of [
    'AWS_PROFILE',
    'AWS_SESSION_TOKEN',
    'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
    'HTTPS_PROXY',
    'https_proxy',
    'HTTP_PROXY',
    'http_proxy',
  ]) {
    delete process.env[k];
  }
});
after(() => emu.close());

function options(argv: string[]): Options {
  const c = parseArgs(['--endpoint-url', emu.url, ...argv]);
  assert.equal(c.kind, 'run');
  return (c as { options: Options }).options;
}

/** An Io over strings: what was written to stdout and stderr, and whether the run asked to exit. */
function memoryIo(input: string): { io: Io; stdout: () => string; stderr: () => string } {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks: { out: Buffer[]; err: Buffer[] } = { out: [], err: [] };
  out.on('data', (c: Buffer) => chunks.out.push(c));
  err.on('data', (c: Buffer) => chunks.err.push(c));
  const io: Io = {
    stdin: Readable.from([Buffer.from(input)]),
    stdout: out,
    stderr: err,
    env: process.env,
    now: Date.now,
    onSignal: () => () => undefined,
    exit: (code) => {
      throw new Error(`exit ${code}`);
    },
    atExit: () => undefined,
  };
  return { io, stdout: () => Buffer.concat(chunks.out).toString('utf8'), stderr: () => Buffer.concat(chunks.err).toString('utf8') };
}

test('records in, ordered results out, exit 0, nothing on stderr off a terminal', async () => {
  const m = memoryIo('{"a":1}\n{"a":2}\n\n{"a":3}\n');
  const code = await run(options(['--endpoint-name', 'demo', '--concurrency', '2']), m.io);
  assert.equal(code, 0, m.stderr());
  const lines = m
    .stdout()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { line: number; ok: boolean });
  assert.deepEqual(
    lines.map((l) => [l.line, l.ok]),
    [
      [1, true],
      [2, true],
      [4, true],
    ],
  );
  assert.equal(m.stderr(), '');
});

test('an unknown endpoint: exit 3 with one message, a hint and how to continue', async () => {
  const m = memoryIo('x\ny\n');
  const code = await run(options(['--endpoint-name', 'no-such-endpoint']), m.io);
  assert.equal(code, 3);
  assert.match(m.stderr(), /^sm-invoke: fatal: ValidationError: Endpoint no-such-endpoint of account \d+ not found\.$/m);
  assert.match(m.stderr(), /to be able to continue a stopped run, give an outfile/);
});

test('a bad record fails alone: exit 1, the others answered', async () => {
  const m = memoryIo('{"body":1}\n{"body":2,"body":3}\n{"body":4}\n');
  const code = await run(options(['--endpoint-name', 'demo', '--envelope']), m.io);
  assert.equal(code, 1);
  const lines = m
    .stdout()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { ok: boolean; error?: { code: string } });
  assert.deepEqual(
    lines.map((l) => l.ok),
    [true, false, true],
  );
  assert.equal(lines[1]!.error!.code, 'InvalidRecord');
});
