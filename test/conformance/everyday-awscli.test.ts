// The single invocation, like the AWS CLI: `sm-invoke --body ... outfile` next to
// `aws sagemaker-runtime invoke-endpoint --body ... outfile` against the same emulator. Both must
// send the same bytes, write the same outfile, print the same metadata JSON (byte for byte: the CLI
// prints it with a 4-space indent), and fail with the same message and exit code.
//
// This AWS CLI (v2.9) reads a literal or file:// --body as base64 by default (cli_binary_format
// base64): `--body aGk=` would send "hi". The issue asks sm-invoke to send --body raw, never
// base64-decoded, which is what the CLI does with `--cli-binary-format raw-in-base64-out`; so the
// CLI gets that flag for literal and file:// bodies. fileb:// is raw bytes in both modes.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test, beforeEach } from 'node:test';
import { startEmulator, type Emulator, type EmulatorConfigInput, type RequestLogEntry } from '../../src/emulator/server.js';
import { NO_AWS_CLI, runAwsCli, type AwsCliResult } from '../helpers/awscli.js';
import { requireTools } from '../helpers/tools.js';
import { runCli, tempDir } from '../helpers/cli.js';

const RAW = ['--cli-binary-format', 'raw-in-base64-out'];

const ENDPOINTS: EmulatorConfigInput = { endpoints: { demo: {}, mirror: { model: 'mirror' } } };

interface Both {
  cli: AwsCliResult & { out: Buffer | undefined; sent: RequestLogEntry[] };
  ours: AwsCliResult & { out: Buffer | undefined; sent: RequestLogEntry[] };
}

/**
 * The same invocation through both tools, one after the other, against an emulator of their own (the
 * tests run concurrently; this way each tool's requests are told apart in the log). `args` are the
 * shared invoke-endpoint options; `cliOnly` goes to the AWS CLI only. `endpointUrl` replaces the
 * emulator's.
 */
async function both(args: string[], opts: { cliOnly?: string[]; endpointUrl?: string } = {}): Promise<Both> {
  const emu = await startEmulator(ENDPOINTS);
  try {
    const dir = tempDir();
    const endpointUrl = opts.endpointUrl ?? emu.url;
    const cliOut = join(dir, 'cli.out');
    const cli = await runAwsCli(['sagemaker-runtime', 'invoke-endpoint', '--endpoint-url', endpointUrl, ...(opts.cliOnly ?? []), ...args, cliOut]);
    const mid = emu.log.length;
    const oursOut = join(dir, 'ours.out');
    const r = await runCli(['--endpoint-url', endpointUrl, ...args, oursOut]);
    const read = (p: string) => (existsSync(p) ? readFileSync(p) : undefined);
    return {
      cli: { ...cli, out: read(cliOut), sent: emu.log.slice(0, mid) },
      ours: { code: r.code ?? -1, stdout: r.stdout.toString('utf8'), stderr: r.stderr, out: read(oursOut), sent: emu.log.slice(mid) },
    };
  } finally {
    await emu.close();
  }
}

/** Exit code, outfile bytes, metadata (parsed and as text), stderr and the bytes sent: all the same. */
function assertSame({ cli, ours }: Both): void {
  assert.equal(ours.code, cli.code, `exit code; AWS CLI stderr: ${cli.stderr}; ours: ${ours.stderr}`);
  assert.deepEqual(ours.out, cli.out, 'outfile bytes');
  if (cli.stdout !== '') assert.deepEqual(JSON.parse(ours.stdout), JSON.parse(cli.stdout), 'metadata JSON');
  assert.equal(ours.stdout, cli.stdout, 'metadata text, 4-space indent included');
  assert.equal(ours.stderr, cli.stderr, 'stderr');
  assert.deepEqual(
    ours.sent.map((e) => e.body),
    cli.sent.map((e) => e.body),
    'request bodies',
  );
}

describe('--body: one call, like aws sagemaker-runtime invoke-endpoint', { concurrency: 4 }, () => {
  beforeEach(() => requireTools(NO_AWS_CLI));
  test('literal text: sent raw (never base64-decoded); same outfile and metadata', async () => {
    const r = await both(
      [
        '--endpoint-name',
        'demo',
        '--body',
        '{"t":"literal","x":"héllo ☃"}',
        '--content-type',
        'application/json',
        '--custom-attributes',
        'trace=1; user=a',
        '--target-variant',
        'AllTraffic',
      ],
      { cliOnly: RAW },
    );
    assertSame(r);
    assert.equal(r.ours.code, 0, r.ours.stderr);
    assert.deepEqual(JSON.parse(r.ours.stdout), {
      ContentType: 'application/json',
      InvokedProductionVariant: 'AllTraffic',
      CustomAttributes: 'trace=1; user=a',
    });
    assert.deepEqual(r.ours.sent[0]!.body, Buffer.from('{"t":"literal","x":"héllo ☃"}'));
  });

  test("file://: the file's UTF-8 text, newline included; --accept picks the response type", async () => {
    const file = join(tempDir(), 'req.json');
    writeFileSync(file, '{"t":"file","text":"naïve — ünïcode"}\n');
    const r = await both(['--endpoint-name', 'mirror', '--body', `file://${file}`, '--content-type', 'application/json', '--accept', 'text/plain'], {
      cliOnly: RAW,
    });
    assertSame(r);
    assert.equal(r.ours.code, 0, r.ours.stderr);
    assert.deepEqual(r.ours.out, readFileSync(file), 'the mirror model answers with the bytes it got');
    assert.equal(JSON.parse(r.ours.stdout).ContentType, 'text/plain');
  });

  test('fileb://: bytes, invalid UTF-8 and NUL included, into a binary outfile', async () => {
    const file = join(tempDir(), 'req.bin');
    const bytes = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0xc3, 0x28, 0x0a, 0x7b, 0x0d, 0x0a, 0xe2, 0x82]);
    writeFileSync(file, bytes);
    const r = await both(['--endpoint-name', 'mirror', '--body', `fileb://${file}`, '--content-type', 'application/octet-stream']);
    assertSame(r);
    assert.equal(r.ours.code, 0, r.ours.stderr);
    assert.deepEqual(r.ours.sent[0]!.body, bytes);
    assert.deepEqual(r.ours.out, bytes);
    assert.deepEqual(JSON.parse(r.ours.stdout), { ContentType: 'application/octet-stream', InvokedProductionVariant: 'AllTraffic' });
  });

  test('ModelError: the same message, exit 254, no outfile', async () => {
    const r = await both(['--endpoint-name', 'demo', '--body', '{"t":"model-error","__emulator":{"fault":"model-error","originalMessage":"bad input"}}'], {
      cliOnly: RAW,
    });
    assertSame(r);
    assert.equal(r.ours.code, 254);
    assert.match(
      r.ours.stderr,
      /^\nAn error occurred \(ModelError\) when calling the InvokeEndpoint operation: Received client error \(400\) from primary with message "bad input"\. See https:\/\/.* for more information\.\n$/,
    );
    assert.equal(r.ours.stdout, '');
    assert.equal(r.ours.out, undefined);
    assert.equal(r.ours.sent.length, 1, 'a ModelError is the answer: not retried');
  });

  test('unknown endpoint: ValidationError, exit 254', async () => {
    const r = await both(['--endpoint-name', 'no-such-endpoint', '--body', '{"t":"unknown"}'], { cliOnly: RAW });
    assertSame(r);
    assert.equal(r.ours.code, 254);
    assert.equal(
      r.ours.stderr,
      '\nAn error occurred (ValidationError) when calling the InvokeEndpoint operation: Endpoint no-such-endpoint of account 123456789012 not found.\n',
    );
  });

  test('throttled on every attempt: "(reached max retries: 2)", exit 254', async () => {
    const r = await both(['--endpoint-name', 'demo', '--body', '{"t":"throttle","__emulator":{"fault":"throttle"}}'], { cliOnly: RAW });
    assertSame(r);
    assert.equal(r.ours.code, 254);
    assert.equal(r.ours.stderr, '\nAn error occurred (ThrottlingException) when calling the InvokeEndpoint operation (reached max retries: 2): None\n');
    assert.equal(r.ours.sent.length, 3);
  });

  test('nothing listening: "Could not connect to the endpoint URL", exit 255', async () => {
    const r = await both(['--endpoint-name', 'demo', '--body', 'x'], { cliOnly: RAW, endpointUrl: 'http://127.0.0.1:1' });
    assertSame(r);
    assert.equal(r.ours.code, 255);
    assert.equal(r.ours.stderr, '\nCould not connect to the endpoint URL: "http://127.0.0.1:1/endpoints/demo/invocations"\n');
  });
});

describe('--body: what only sm-invoke does', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator(ENDPOINTS);
  });
  after(() => emu.close());

  test('literal text that looks like base64 is sent as it is', async () => {
    const out = join(tempDir(), 'o');
    const from = emu.log.length;
    const r = await runCli(['--endpoint-url', emu.url, '--endpoint-name', 'mirror', '--body', 'aGVsbG8=', '--content-type', 'text/plain', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      emu.log.slice(from).map((e) => e.body),
      [Buffer.from('aGVsbG8=')],
    );
    assert.deepEqual(readFileSync(out), Buffer.from('aGVsbG8='));
  });

  test('outfile "-": the response body on stdout, a newline, then the metadata', async () => {
    const r = await runCli(['--endpoint-url', emu.url, '--endpoint-name', 'mirror', '--body', 'plain text', '--content-type', 'text/plain', '-']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout.toString(), 'plain text\n{\n    "ContentType": "text/plain",\n    "InvokedProductionVariant": "AllTraffic"\n}\n');
    // A body that already ends with a newline gets no second one.
    const nl = await runCli(['--endpoint-url', emu.url, '--endpoint-name', 'mirror', '--body', 'two\nlines\n', '--content-type', 'text/plain', '-']);
    assert.equal(nl.code, 0, nl.stderr);
    assert.match(nl.stdout.toString(), /^two\nlines\n\{\n/);
  });

  test('outfile "-": the AWS CLI writes a file named "-" (sm-invoke writes stdout instead)', async () => {
    requireTools(NO_AWS_CLI);
    const dir = tempDir();
    const aws = await runAwsCli(
      [
        ...RAW,
        'sagemaker-runtime',
        'invoke-endpoint',
        '--endpoint-url',
        emu.url,
        '--endpoint-name',
        'mirror',
        '--body',
        'plain text',
        '--content-type',
        'text/plain',
        '-',
      ],
      {},
      dir,
    );
    assert.equal(aws.code, 0, aws.stderr);
    assert.equal(readFileSync(join(dir, '-'), 'utf8'), 'plain text', 'the AWS CLI wrote the body to a file named "-"');
    assert.match(aws.stdout, /^\{\n {4}"ContentType"/);
  });

  test('session ids in the metadata (this AWS CLI has no --session-id)', async () => {
    const dir = tempDir();
    const open = await runCli([
      '--endpoint-url',
      emu.url,
      '--endpoint-name',
      'demo',
      '--session-id',
      'NEW_SESSION',
      '--body',
      '{"t":"session"}',
      join(dir, 'a'),
    ]);
    assert.equal(open.code, 0, open.stderr);
    const meta = JSON.parse(open.stdout.toString()) as Record<string, string>;
    assert.deepEqual(Object.keys(meta), ['ContentType', 'InvokedProductionVariant', 'NewSessionId']);
    const id = /^([\w-]+); Expires=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.exec(meta.NewSessionId!)?.[1];
    assert.ok(id, meta.NewSessionId);
    const close = await runCli(['--endpoint-url', emu.url, '--endpoint-name', 'demo', '--session-id', id, '--body', '{"closeSession":true}', join(dir, 'b')]);
    assert.equal(close.code, 0, close.stderr);
    assert.deepEqual(JSON.parse(close.stdout.toString()), { ContentType: 'application/json', InvokedProductionVariant: 'AllTraffic', ClosedSessionId: id });
  });

  test('file:// with bytes that are not UTF-8 text: a usage error pointing to fileb://', async () => {
    const file = join(tempDir(), 'bin');
    writeFileSync(file, Buffer.from([0xff, 0xfe]));
    const r = await runCli(['--endpoint-url', emu.url, '--endpoint-name', 'demo', '--body', `file://${file}`, join(tempDir(), 'o')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^sm-invoke: --body: file:\/\/.*bin is not valid UTF-8 text; use fileb:\/\/.*bin to send its bytes\n$/);
  });
});
