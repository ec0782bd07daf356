// redact.ts, and no credential in what sm-invoke writes when the service quotes the request back: the
// emulator answers a wrong secret with AWS's InvalidSignatureException, whose message carries the
// canonical request (session token included) and the string to sign.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { REDACTED, redactSecrets } from '../../src/aws/redact.js';
import { parseServiceError } from '../../src/aws/service-error.js';
import { BINARY, runCli, scrubbedEnv, tempDir } from '../helpers/cli.js';

const KEY_ID = 'ASIAREDACTEXAMPLE123';
const SECRET = 'redactSecret/EXAMPLE+0123456789abcdefghijk';
const TOKEN = 'IQoJb3JpZ2luX2VjRedactTest/Session+Token0123456789abcdefghijklmnop==';

describe('redactSecrets', () => {
  test('the session token in a quoted canonical request; the rest is kept for debugging', () => {
    const message =
      'The request signature we calculated does not match the signature you provided.\n\n' +
      'The Canonical String for this request should have been\n' +
      `'POST\n/endpoints/demo/invocations\n\ncontent-type:application/json\nhost:runtime.sagemaker.us-east-1.amazonaws.com\n` +
      `x-amz-date:20260801T120000Z\nx-amz-security-token:${TOKEN}\n\ncontent-type;host;x-amz-date;x-amz-security-token\n` +
      `e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'\n\n` +
      `The String-to-Sign should have been\n'AWS4-HMAC-SHA256\n20260801T120000Z\n20260801/us-east-1/sagemaker/aws4_request\n` +
      `4b0f7c6a2d1e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a'\n`;
    const out = redactSecrets(message);
    assert.ok(!out.includes(TOKEN));
    assert.ok(out.includes(`x-amz-security-token:${REDACTED}\n`));
    assert.equal(out.replace(`x-amz-security-token:${REDACTED}`, `x-amz-security-token:${TOKEN}`), message, 'nothing else changed');
  });

  test('an Authorization header quoted back: key id cut to 4 characters, signature removed', () => {
    const auth =
      'Authorization=AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260801/us-east-1/sagemaker/aws4_request, ' +
      'SignedHeaders=host;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024';
    assert.equal(
      redactSecrets(auth),
      'Authorization=AWS4-HMAC-SHA256 Credential=AKIA****/20260801/us-east-1/sagemaker/aws4_request, ' + `SignedHeaders=host;x-amz-date, Signature=${REDACTED}`,
    );
  });

  test('query-string forms (a presigned request quoted back)', () => {
    const q =
      `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAREDACTEXAMPLE123%2F20260801%2Fus-east-1%2Fsagemaker%2Faws4_request` +
      `&X-Amz-Security-Token=${encodeURIComponent(TOKEN)}&X-Amz-Signature=0123456789abcdef0123456789abcdef&X-Amz-SignedHeaders=host`;
    assert.equal(
      redactSecrets(q),
      'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIA****%2F20260801%2Fus-east-1%2Fsagemaker%2Faws4_request' +
        `&X-Amz-Security-Token=${REDACTED}&X-Amz-Signature=${REDACTED}&X-Amz-SignedHeaders=host`,
    );
  });

  test('ordinary messages are untouched', () => {
    for (const m of [
      'Signature expired: 20260801T115000Z is now earlier than 20260801T115500Z (20260801T120000Z - 5 min.)',
      "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.",
      "Credential should be scoped to a valid region, not 'eu-west-1'. ",
      'The security token included in the request is invalid.',
      'Received client error (400) from primary with message "signature: bad input". See https://x/y in account 123456789012 for more information.',
    ])
      assert.equal(redactSecrets(m), m);
  });

  test('parseServiceError redacts the message it returns', () => {
    const body = Buffer.from(JSON.stringify({ message: `bad\n\n'POST\n/\n\nx-amz-security-token:${TOKEN}\n'` }));
    const e = parseServiceError(403, { 'x-amzn-errortype': 'InvalidSignatureException' }, body);
    assert.equal(e.code, 'InvalidSignatureException');
    assert.ok(!e.message.includes(TOKEN) && e.message.includes(`x-amz-security-token:${REDACTED}`));
  });
});

describe('a wrong secret with a session token, against the emulator: the quoted canonical request has no token', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({ credentials: [{ accessKeyId: KEY_ID, secretAccessKey: SECRET, sessionToken: TOKEN }], endpoints: { demo: {} } });
  });
  after(() => emu.close());
  const env = (): Record<string, string> =>
    scrubbedEnv({ AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: 'wrong/Secret+EXAMPLE0123456789abcdefghij', AWS_SESSION_TOKEN: TOKEN });
  const assertNoCredential = (bytes: Buffer, what: string): void => {
    for (const [name, secret] of [
      ['session token', TOKEN],
      ['secret', SECRET],
      ['wrong secret', 'wrong/Secret+EXAMPLE0123456789abcdefghij'],
      ['access key id', KEY_ID],
    ] as const) {
      assert.equal(bytes.indexOf(secret), -1, `${what}: the ${name} is written nowhere`);
    }
  };

  test('--body (the AWS CLI-style call prints the whole message): the canonical request, its token redacted', async () => {
    const out = join(tempDir(), 'out.json');
    const r = await runCli(['--endpoint-name', 'demo', '--endpoint-url', emu.url, '--content-type', 'application/json', '--body', '{"x":1}', out], {
      command: BINARY,
      env: env(),
    });
    assert.equal(r.code, 254, r.stderr);
    assert.match(
      r.stderr,
      /^\nAn error occurred \(InvalidSignatureException\) when calling the InvokeEndpoint operation: The request signature we calculated does not match/,
    );
    assert.ok(r.stderr.includes('The Canonical String for this request should have been'), 'the quoted request is kept for debugging');
    assert.ok(r.stderr.includes(`x-amz-security-token:${REDACTED}\n`), r.stderr);
    assert.match(r.stderr, /\nx-amz-date:\d{8}T\d{6}Z\n/);
    assertNoCredential(Buffer.concat([r.stdout, Buffer.from(r.stderr)]), '--body');
    // The emulator did receive the token: the redaction is ours, on the way out.
    assert.ok(emu.log.some((e) => e.headers['x-amz-security-token'] === TOKEN));
  });

  test('a stream of records, with --debug and --output body: neither stdout nor stderr has a credential', async () => {
    for (const extra of [['--debug'], ['--output', 'body'], ['--envelope', '--endpoint-name', 'demo']]) {
      const input = extra.includes('--envelope') ? '{"body":{"x":1}}\n{"body":{"x":2}}\n' : '{"x":1}\n{"x":2}\n';
      const r = await runCli(['--endpoint-name', 'demo', '--endpoint-url', emu.url, ...extra], { command: BINARY, input, env: env() });
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /^sm-invoke: fatal: InvalidSignatureException: The request signature we calculated does not match/m);
      assertNoCredential(Buffer.concat([r.stdout, Buffer.from(r.stderr)]), extra.join(' '));
    }
  });
});
