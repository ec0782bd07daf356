// Messages that tell a user what to do, through the built executable: a wrong region, a failing
// credential_process, a trusted certificate for another name, a model that does not take batches,
// --quiet, -V, `sm-invoke help`, "did you mean" for --batch, and the hint for JSON bodies sent
// without a content type (on a terminal).
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { BINARY, ROOT, runCli, scrubbedEnv, tempDir } from '../helpers/cli.js';
import { NO_PYTHON, PYTHON, runCliOnPty } from '../helpers/pty.js';
import { haveOpenssl, makeTestCerts } from '../helpers/tls.js';
import { requireTools } from '../helpers/tools.js';

let emu: Emulator;
before(async () => {
  emu = await startEmulator({ endpoints: { demo: {}, mirror: { model: 'mirror' } } });
});
after(() => emu.close());

const bin = (args: string[], input = '', env = scrubbedEnv()): ReturnType<typeof runCli> => runCli(args, { command: BINARY, input, env });
const base = (): string[] => ['--endpoint-url', emu.url, '--endpoint-name', 'demo'];

describe('fatal errors say what to check', () => {
  test('a wrong region: the signature is refused for its scope, and the message says to check the region', async () => {
    const r = await bin([...base(), '--region', 'eu-west-1'], '{"a":1}\n');
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /fatal: InvalidSignatureException: Credential should be scoped to a valid region, not 'eu-west-1'/);
    assert.match(r.stderr, /the request was signed for eu-west-1, which is not this endpoint's region: check the region \(--region, AWS_REGION/);
    assert.doesNotMatch(r.stderr, /check the AWS access key and secret/);
  });

  test('a wrong secret still says to check the key and secret', async () => {
    const r = await bin(base(), '{"a":1}\n', scrubbedEnv({ AWS_SECRET_ACCESS_KEY: 'wrong/Secret+EXAMPLE0123456789abcdefghij' }));
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /check the AWS access key and secret/);
  });

  test('a failing credential_process: its own stderr message, as the AWS CLI shows it', async () => {
    const dir = tempDir();
    const script = join(dir, 'creds.sh');
    writeFileSync(script, '#!/bin/sh\necho "SSO session for profile dev expired: run aws sso login" >&2\nexit 1\n');
    chmodSync(script, 0o755);
    writeFileSync(join(dir, 'config'), `[default]\ncredential_process = ${script}\n`);
    const env = scrubbedEnv({ AWS_CONFIG_FILE: join(dir, 'config') }, false);
    const r = await bin(base(), '{"a":1}\n', env);
    assert.equal(r.code, 3, r.stderr);
    assert.match(
      r.stderr,
      /fatal: could not get AWS credentials: the profile's credential_process \(.*creds\.sh\) failed: SSO session for profile dev expired: run aws sso login/,
    );
    // One that prints something else than credentials says so too.
    writeFileSync(script, '#!/bin/sh\necho not-json\n');
    const bad = await bin(base(), '{"a":1}\n', env);
    assert.equal(bad.code, 3, bad.stderr);
    assert.match(bad.stderr, /credential_process/);
  });

  test('a trusted certificate for another name: the names do not match, and which names it has', async () => {
    requireTools(!haveOpenssl() && 'openssl is not installed (Debian package openssl), needed to make a test CA');
    const dir = mkdtempSync(join(tmpdir(), 'sm-invoke-names-'));
    const certs = makeTestCerts(dir, 'DNS:other.example,IP:10.9.9.9');
    const secure = await startEmulator({}, { tls: { cert: certs.cert, key: certs.key } });
    try {
      const r = await bin(['--endpoint-url', secure.url, '--endpoint-name', 'demo', '--ca-bundle', certs.caFile], '{"a":1}\n');
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /ERR_TLS_CERT_ALTNAME_INVALID/);
      assert.match(r.stderr, /is trusted but its names do not match 127\.0\.0\.1; the certificate is for DNS:other\.example, IP Address:10\.9\.9\.9/);
      assert.doesNotMatch(r.stderr, /not trusted: give its CA/);
    } finally {
      await secure.close();
    }
  });
});

describe('batching against a model that does not take batches', () => {
  test('each record says the model may not accept batches of N, and what to try', async () => {
    const input = '{"a":1}\n{"a":2}\n{"a":3}\n{"a":4}\n';
    const r = await bin([...base(), '--content-type', 'application/json', '--batch-size', '4', '--batch-format', 'json'], input);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.lines.length, 4);
    for (const l of r.lines) {
      assert.equal(l.error.code, 'BatchMismatch');
      assert.match(l.error.message, /the model may not accept batches of 4 records \(--batch-size 4, --batch-format json\).*--batch-size 1/);
    }
  });
});

describe('the command line', () => {
  test('-V and --version; `sm-invoke help`; "did you mean" for --batch', async () => {
    for (const v of ['-V', '--version']) {
      const r = await bin([v]);
      assert.equal(r.code, 0);
      assert.equal(r.stdout.toString(), `sm-invoke ${(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`);
    }
    const help = await bin(['help']);
    assert.equal(help.code, 0);
    assert.equal(help.stdout.toString(), (await bin(['--help'])).stdout.toString());
    assert.match(help.stdout.toString(), /-q, --quiet/);
    const batch = await bin([...base(), '--batch', '4']);
    assert.equal(batch.code, 2);
    assert.match(batch.stderr, /--batch.*did you mean --batch-size N\?/);
  });

  test('--quiet / -q: hints and notices go, errors stay', async () => {
    const looksLikeEnvelope = '{"body":{"a":1}}\n';
    const loud = await bin(base(), looksLikeEnvelope);
    assert.match(loud.stderr, /looks like an envelope/);
    for (const q of ['--quiet', '-q']) {
      const quiet = await bin([...base(), q], looksLikeEnvelope);
      assert.equal(quiet.code, 0);
      assert.equal(quiet.stderr, '');
    }
    const failing = await bin([...base(), '-q', '--no-verify-ssl', '--output', 'body'], '{"__emulator":{"fault":"model-error"}}\n');
    assert.equal(failing.code, 1);
    assert.doesNotMatch(failing.stderr, /warning/);
    assert.match(failing.stderr, /^sm-invoke: line 1: ModelError: /m);
    assert.match(failing.stderr, /1 failed \(ModelError 1\)/);
    const fatal = await bin(['--endpoint-url', emu.url, '--endpoint-name', 'nope', '-q'], '{}\n');
    assert.equal(fatal.code, 3);
    assert.match(fatal.stderr, /fatal: ValidationError/);
  });
});

describe('JSON bodies and no content type', () => {
  const inputFile = (text: string): string => {
    const f = join(tempDir(), 'in.ndjson');
    writeFileSync(f, text);
    return f;
  };

  test('on a terminal: one hint, naming --content-type; none with --content-type, with -q, or for text bodies', async () => {
    requireTools(PYTHON === undefined && NO_PYTHON);
    const json = inputFile('{"a":1}\n{"a":2}\n[3]\n');
    const r = await runCliOnPty([...base(), '--no-progress'], json, scrubbedEnv());
    assert.equal(r.code, 0, r.stderr);
    const hints = r.stderr.split('\n').filter((l) => l.includes('no content type is given'));
    assert.equal(hints.length, 1, r.stderr);
    assert.match(hints[0]!, /line 1: the body looks like JSON.*add --content-type application\/json/);
    for (const extra of [['--content-type', 'application/json'], ['-q']]) {
      const quiet = await runCliOnPty([...base(), '--no-progress', ...extra], json, scrubbedEnv());
      assert.doesNotMatch(quiet.stderr, /no content type/, extra.join(' '));
    }
    const text = await runCliOnPty([...base(), '--no-progress'], inputFile('hello\nworld\n'), scrubbedEnv());
    assert.doesNotMatch(text.stderr, /no content type/);
    const envelopes = await runCliOnPty([...base(), '--no-progress', '--envelope'], inputFile('{"body":{"a":1}}\n'), scrubbedEnv());
    assert.match(envelopes.stderr, /line 1: the body looks like JSON/);
  });

  test('off a terminal (pipelines, cron): nothing, a clean run stays silent', async () => {
    const r = await bin(base(), '{"a":1}\n');
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
  });
});
