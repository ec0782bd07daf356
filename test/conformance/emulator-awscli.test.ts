// Conformance with the real AWS CLI (botocore): its signatures verify, and it
// parses the emulator's errors exactly as it parses AWS's.
import assert from 'node:assert/strict';
import { beforeEach, describe, test, type TestContext } from 'node:test';
import { type Emulator, type EmulatorConfigInput, startEmulator } from '../../src/emulator/server.js';
import { NO_AWS_CLI, invokeWithAwsCli, type InvokeEndpointInput, runAwsCli } from '../helpers/awscli.js';
import { requireTools } from '../helpers/tools.js';

const ERR = (code: string): RegExp => new RegExp(`^\\nAn error occurred \\(${code}\\) when calling the InvokeEndpoint operation`);

async function emulator(t: TestContext, config?: EmulatorConfigInput): Promise<Emulator> {
  const emu = await startEmulator(config);
  t.after(() => emu.close());
  return emu;
}

const invoke = (emu: Emulator, o: Partial<InvokeEndpointInput> = {}, env?: Record<string, string | undefined>) =>
  invokeWithAwsCli({ endpointUrl: emu.url, endpointName: 'demo', body: '{"inputs":"hi"}', ...o }, env);

const fault = (d: Record<string, unknown>): string => JSON.stringify({ __emulator: d });

describe('AWS CLI conformance', { concurrency: 4 }, () => {
  beforeEach(() => requireTools(NO_AWS_CLI));
  test('aws --version is CLI v2', async (t) => {
    const r = await runAwsCli(['--version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^aws-cli\/2\./);
    t.diagnostic(r.stdout.trim());
  });

  test('every InvokeEndpoint option: the signature verifies and the record sent is what we expect', async (t) => {
    const emu = await emulator(t);
    const body = '{"inputs":"héllo"}\n';
    const r = await invoke(emu, {
      body,
      contentType: 'application/json',
      accept: 'application/json',
      customAttributes: 'trace=abc,x=1',
      targetModel: 'model-a.tar.gz',
      targetVariant: 'AllTraffic',
      inferenceId: 'rec-0001',
      enableExplanations: '`true`',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      ContentType: 'application/json',
      InvokedProductionVariant: 'AllTraffic',
      CustomAttributes: 'trace=abc,x=1',
    });
    const echoed = JSON.parse(r.output!.toString('utf8'));
    assert.equal(echoed.body, body);
    assert.equal(echoed.variant, 'AllTraffic');

    assert.equal(emu.log.length, 1);
    const sent = emu.log[0]!;
    assert.equal(sent.status, 200);
    const sagemaker = Object.fromEntries(
      Object.entries(sent.headers).filter(([k]) => k.startsWith('x-amzn-sagemaker-') || k === 'content-type' || k === 'accept'),
    );
    const record = { method: sent.method, path: sent.path, body: sent.body.toString('utf8'), headers: sagemaker };
    assert.deepEqual(record, {
      method: 'POST',
      path: '/endpoints/demo/invocations',
      body,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        'x-amzn-sagemaker-custom-attributes': 'trace=abc,x=1',
        'x-amzn-sagemaker-target-model': 'model-a.tar.gz',
        'x-amzn-sagemaker-target-variant': 'AllTraffic',
        'x-amzn-sagemaker-inference-id': 'rec-0001',
        'x-amzn-sagemaker-enable-explanations': '`true`',
      },
    });
    assert.deepEqual(echoed.headers, record.headers);
    // botocore signs every header it sends except user-agent, and sends no x-amz-content-sha256 here.
    assert.equal(sent.headers['x-amz-content-sha256'], undefined);
    const signed = /SignedHeaders=([^,]+)/.exec(sent.headers.authorization!)![1]!.split(';');
    assert.deepEqual(signed, [
      'accept',
      'content-type',
      'host',
      'x-amz-date',
      'x-amzn-sagemaker-custom-attributes',
      'x-amzn-sagemaker-enable-explanations',
      'x-amzn-sagemaker-inference-id',
      'x-amzn-sagemaker-target-model',
      'x-amzn-sagemaker-target-variant',
    ]);
    t.diagnostic(`record sent by the AWS CLI: ${JSON.stringify(record)}`);
  });

  test('binary body without --content-type: bytes intact, no Content-Type sent', async (t) => {
    const emu = await emulator(t);
    const bytes = Buffer.from([0x00, 0xff, 0x10, 0x80, 0x7b]);
    const r = await invoke(emu, { body: bytes });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(emu.log[0]!.body, bytes);
    assert.equal(emu.log[0]!.headers['content-type'], undefined);
    assert.equal(JSON.parse(r.output!.toString()).bodyBase64, bytes.toString('base64'));
  });

  test('wrong secret -> InvalidSignatureException, not retried', async (t) => {
    const emu = await emulator(t);
    const r = await invoke(emu, {}, { AWS_SECRET_ACCESS_KEY: 'wrong-secret' });
    assert.equal(r.code, 254);
    assert.match(r.stderr, ERR('InvalidSignatureException'));
    assert.match(r.stderr, /operation: The request signature we calculated does not match the signature you provided\./);
    assert.equal(r.output, undefined);
    assert.equal(emu.log.length, 1);
  });

  test('wrong region -> InvalidSignatureException naming the region', async (t) => {
    const emu = await emulator(t);
    const r = await invoke(emu, {}, { AWS_DEFAULT_REGION: 'eu-west-1' });
    assert.equal(r.code, 254);
    assert.match(r.stderr, ERR('InvalidSignatureException'));
    assert.match(r.stderr, /Credential should be scoped to a valid region, not 'eu-west-1'\./);
  });

  test('--no-sign-request -> MissingAuthenticationTokenException', async (t) => {
    const emu = await emulator(t);
    const r = await runAwsCli([
      'sagemaker-runtime',
      'invoke-endpoint',
      '--no-sign-request',
      '--endpoint-url',
      emu.url,
      '--endpoint-name',
      'demo',
      '--body',
      'e30=',
      '/dev/null',
    ]);
    assert.equal(r.code, 254);
    assert.match(r.stderr, ERR('MissingAuthenticationTokenException'));
    assert.match(r.stderr, /: Missing Authentication Token\n$/);
  });

  test('unknown access key -> UnrecognizedClientException; session credentials verify', async (t) => {
    const emu = await emulator(t, {
      credentials: [{ accessKeyId: 'ASIATEMPEXAMPLE', secretAccessKey: 'temp/secret+key', sessionToken: 'FwoGZXIvYXdzEXAMPLE//token=' }],
    });
    const unknown = await invoke(emu);
    assert.match(unknown.stderr, ERR('UnrecognizedClientException'));
    assert.match(unknown.stderr, /The security token included in the request is invalid\./);
    const ok = await invoke(
      emu,
      {},
      {
        AWS_ACCESS_KEY_ID: 'ASIATEMPEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'temp/secret+key',
        AWS_SESSION_TOKEN: 'FwoGZXIvYXdzEXAMPLE//token=',
      },
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(emu.log[1]!.headers.authorization!.includes('x-amz-security-token'));
  });

  test('clock skew -> InvalidSignatureException "Signature expired"', async (t) => {
    const emu = await emulator(t, { clockOffsetMs: 15 * 60_000 });
    const r = await invoke(emu);
    assert.equal(r.code, 254);
    assert.match(r.stderr, ERR('InvalidSignatureException'));
    assert.match(r.stderr, /: Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)\n$/);
  });

  test('denied key -> AccessDeniedException', async (t) => {
    const emu = await emulator(t, {
      credentials: [{ accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', denied: true }],
    });
    const r = await invoke(emu);
    assert.match(r.stderr, ERR('AccessDeniedException'));
    assert.match(r.stderr, /is not authorized to perform: sagemaker:InvokeEndpoint on resource: arn:aws:sagemaker:us-east-1:123456789012:endpoint\/demo/);
  });

  test('unknown endpoint and bad input -> ValidationError', async (t) => {
    const emu = await emulator(t);
    const r = await invoke(emu, { endpointName: 'no-such-endpoint' });
    assert.equal(r.code, 254);
    assert.match(r.stderr, ERR('ValidationError'));
    assert.match(r.stderr, /operation: Endpoint no-such-endpoint of account 123456789012 not found\.\n$/);
    const v = await invoke(emu, { inferenceId: 'i'.repeat(65) });
    assert.match(
      v.stderr,
      /\(ValidationError\) when calling the InvokeEndpoint operation: 1 validation error detected: Value 'i{65}' at 'inferenceId' failed to satisfy constraint: Member must have length less than or equal to 64\n$/,
    );
  });

  test('model-error -> ModelError with its message', async (t) => {
    const emu = await emulator(t);
    const r = await invoke(emu, { body: fault({ fault: 'model-error', originalMessage: 'bad tensor shape' }) });
    assert.equal(r.code, 254);
    assert.match(r.stderr, ERR('ModelError'));
    assert.match(
      r.stderr,
      /operation: Received client error \(400\) from primary with message "bad tensor shape"\. See https:\/\/us-east-1\.console\.aws\.amazon\.com\/cloudwatch\/home\?region=us-east-1#logEventViewer:group=\/aws\/sagemaker\/Endpoints\/demo in account 123456789012 for more information\.\n$/,
    );
    assert.equal(emu.log.length, 1, 'ModelError is not retried');
  });

  test('ThrottlingException is retried by the CLI until max attempts', async (t) => {
    const emu = await emulator(t);
    const r = await invoke(emu, { body: fault({ fault: 'throttle' }) });
    assert.equal(r.code, 254);
    // {"message":null} is what AWS sends; botocore prints it as None.
    assert.match(r.stderr, /\(ThrottlingException\) when calling the InvokeEndpoint operation \(reached max retries: 2\): None\n$/);
    assert.deepEqual(
      emu.log.map((e) => [e.attempt, e.errorCode]),
      [
        [1, 'ThrottlingException'],
        [2, 'ThrottlingException'],
        [3, 'ThrottlingException'],
      ],
    );
  });

  test('throttled twice, then the third attempt succeeds', async (t) => {
    const emu = await emulator(t);
    const r = await invoke(emu, { body: fault({ fault: 'throttle', times: 2 }) });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      emu.log.map((e) => [e.attempt, e.status]),
      [
        [1, 400],
        [2, 400],
        [3, 200],
      ],
    );
    // Each retry is freshly signed (new x-amz-date/signature allowed), same payload.
    assert.ok(emu.log.every((e) => e.body.equals(emu.log[0]!.body)));
  });

  test('503 ServiceUnavailable is retried; 429 ModelNotReady and 530 are not (standard mode)', async (t) => {
    const emu = await emulator(t);
    const r503 = await invoke(emu, { body: fault({ fault: 'unavailable', times: 1 }) });
    assert.equal(r503.code, 0, r503.stderr);
    const r429 = await invoke(emu, { body: fault({ fault: 'not-ready' }) });
    assert.match(r429.stderr, ERR('ModelNotReadyException'));
    const r530 = await invoke(emu, { body: fault({ fault: 'dependency' }) });
    assert.match(r530.stderr, ERR('InternalDependencyException'));
    assert.deepEqual(
      emu.log.map((e) => e.status),
      [503, 200, 429, 530],
    );
  });
});
