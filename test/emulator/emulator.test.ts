import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { type Emulator, type EmulatorConfigInput, type EmulatorOptions, startEmulator } from '../../src/emulator/server.js';
import { admin, EXAMPLE_KEY_ID, open, rawSend, send, type SendOptions, until } from './fixtures/client.js';

/** The InvokeEndpointAsync counters of an emulator that served none (test/e2e/async.test.ts has the rest). */
const NO_ASYNC = { submitted: 0, completed: 0, failed: 0, stalled: 0, queued: 0, running: 0, maxRunning: 0 };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SM_NS = 'http://internal.amazon.com/coral/com.amazonaws.sagemakerruntime/';
const CORAL_NS = 'http://internal.amazon.com/coral/com.amazon.coral.service/';

async function emulator(t: TestContext, config?: EmulatorConfigInput, options?: EmulatorOptions): Promise<Emulator> {
  const emu = await startEmulator(config, options);
  t.after(() => emu.close());
  return emu;
}

/** Asserts an AWS-style error reply and returns its JSON body. */
function assertError(r: { status: number; headers: Record<string, unknown>; json: any }, status: number, code: string): any {
  assert.equal(r.status, status, `status for ${code}: ${JSON.stringify(r.json)}`);
  assert.equal(String(r.headers['x-amzn-errortype']).split(':')[0], code);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.match(String(r.headers['x-amzn-requestid']), UUID);
  assert.ok(r.headers.date);
  return r.json;
}

const directive = (d: Record<string, unknown>, extra: Record<string, unknown> = {}): string => JSON.stringify({ ...extra, __emulator: d });

describe('success path', () => {
  test('echo model: variant, body, request headers, custom attributes, response headers', async (t) => {
    const emu = await emulator(t);
    const r = await send(emu.port, {
      body: '{"inputs":"héllo"}',
      headers: {
        accept: 'application/json',
        'x-amzn-sagemaker-custom-attributes': 'trace=1, c000b4f9',
        'x-amzn-sagemaker-inference-id': 'id-1',
        'x-amzn-sagemaker-target-model': 'model-a.tar.gz',
        'x-amzn-sagemaker-enable-explanations': '`true`',
        'user-agent': 'test',
      },
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['x-amzn-invoked-production-variant'], 'AllTraffic');
    assert.equal(r.headers['x-amzn-sagemaker-custom-attributes'], 'trace=1, c000b4f9');
    assert.match(String(r.headers['x-amzn-requestid']), UUID);
    assert.ok(!Number.isNaN(Date.parse(String(r.headers.date))));
    assert.deepEqual(r.json, {
      variant: 'AllTraffic',
      body: '{"inputs":"héllo"}',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        'x-amzn-sagemaker-custom-attributes': 'trace=1, c000b4f9',
        'x-amzn-sagemaker-inference-id': 'id-1',
        'x-amzn-sagemaker-target-model': 'model-a.tar.gz',
        'x-amzn-sagemaker-enable-explanations': '`true`',
      },
    });
  });

  test('echo model: a body that is not UTF-8 comes back as bodyBase64; no custom attributes unless sent', async (t) => {
    const emu = await emulator(t);
    const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x41]);
    const r = await send(emu.port, { body: bytes, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(r.status, 200);
    assert.equal(r.json.bodyBase64, bytes.toString('base64'));
    assert.equal(r.json.body, undefined);
    assert.equal(r.headers['x-amzn-sagemaker-custom-attributes'], undefined);
  });

  test('mirror model: bytes verbatim, typed by Accept, else Content-Type, else octet-stream', async (t) => {
    const emu = await emulator(t, { endpoints: { m: { model: 'mirror' } } });
    const body = Buffer.from([1, 2, 3, 250]);
    let r = await send(emu.port, { endpoint: 'm', body, headers: { 'content-type': 'text/csv', accept: 'application/x-npy' } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, body);
    assert.equal(r.headers['content-type'], 'application/x-npy');
    r = await send(emu.port, { endpoint: 'm', body, headers: { 'content-type': 'text/csv' } });
    assert.equal(r.headers['content-type'], 'text/csv');
    const signedNoType = await send(emu.port, { endpoint: 'm', body, tamper: () => {}, headers: {} });
    assert.equal(signedNoType.headers['content-type'], 'application/json'); // the client's default here
  });

  test('default config serves demo and my-ep; endpoints given replace them', async (t) => {
    const emu = await emulator(t);
    assert.equal((await send(emu.port, { endpoint: 'my-ep' })).status, 200);
    assert.equal(emu.config.region, 'us-east-1');
    const other = await emulator(t, { endpoints: { only: {} } });
    assert.equal((await send(other.port, { endpoint: 'only' })).status, 200);
    assertError(await send(other.port, { endpoint: 'demo' }), 400, 'ValidationError');
  });
});

describe('routing', () => {
  test('other paths and methods -> 404 UnknownOperationException', async (t) => {
    const emu = await emulator(t);
    for (const o of [
      { path: '/' },
      { path: '/endpoints/demo/invocations-response-streams' },
      { method: 'GET', path: '/endpoints/demo/invocations-response-stream', body: '' },
      { path: '/endpoints//invocations' },
      { method: 'GET', body: '' }, // (a GET body would be unframed)
      { method: 'PUT' },
    ] as SendOptions[]) {
      const r = await send(emu.port, o);
      assert.deepEqual(assertError(r, 404, 'UnknownOperationException'), { message: null });
      assert.equal(r.headers['x-amzn-errortype'], `UnknownOperationException:${CORAL_NS}`);
    }
  });

  test('unknown endpoint -> ValidationError naming endpoint and account', async (t) => {
    const emu = await emulator(t);
    const r = await send(emu.port, { endpoint: 'nope' });
    assert.deepEqual(assertError(r, 400, 'ValidationError'), { Message: 'Endpoint nope of account 123456789012 not found.' });
    assert.equal(r.headers['x-amzn-errortype'], `ValidationError:${SM_NS}`);
  });

  test('weighted variants: seeded, reproducible after reset, zero weight never chosen', async (t) => {
    const emu = await emulator(t, {
      seed: 42,
      endpoints: {
        ab: {
          variants: [
            { name: 'A', weight: 1 },
            { name: 'B', weight: 3 },
            { name: 'Z', weight: 0 },
          ],
        },
      },
    });
    const run = async (): Promise<string[]> => {
      const seen: string[] = [];
      for (let i = 0; i < 40; i++) seen.push(String((await send(emu.port, { endpoint: 'ab' })).headers['x-amzn-invoked-production-variant']));
      return seen;
    };
    const first = await run();
    assert.ok(first.includes('A') && first.includes('B'));
    assert.ok(!first.includes('Z'));
    emu.reset();
    assert.deepEqual(await run(), first);
    assert.deepEqual(
      emu.log.map((e) => e.variant),
      first,
    );
  });

  test('X-Amzn-SageMaker-Target-Variant picks a variant; an unknown one is a ValidationError', async (t) => {
    const emu = await emulator(t, { endpoints: { ab: { variants: [{ name: 'A' }, { name: 'Z', weight: 0 }] } } });
    const r = await send(emu.port, { endpoint: 'ab', headers: { 'x-amzn-sagemaker-target-variant': 'Z' } });
    assert.equal(r.headers['x-amzn-invoked-production-variant'], 'Z');
    assert.equal(r.json.variant, 'Z');
    const bad = await send(emu.port, { endpoint: 'ab', headers: { 'x-amzn-sagemaker-target-variant': 'Q' } });
    assert.equal(assertError(bad, 400, 'ValidationError').Message, 'Variant Q not found for endpoint ab.');
  });

  test('target container hostname (direct invocation)', async (t) => {
    const emu = await emulator(t, { endpoints: { mc: { containers: ['pre', 'model'] }, plain: {} } });
    const hdr = (v: string): SendOptions['headers'] => ({ 'x-amzn-sagemaker-target-container-hostname': v });
    const ok = await send(emu.port, { endpoint: 'mc', headers: hdr('model') });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.headers['x-amzn-sagemaker-target-container-hostname'], 'model');
    assert.match(assertError(await send(emu.port, { endpoint: 'mc', headers: hdr('other') }), 400, 'ValidationError').Message, /other not found/);
    assert.match(assertError(await send(emu.port, { endpoint: 'mc' }), 400, 'ValidationError').Message, /must be specified/);
    assert.match(
      assertError(await send(emu.port, { endpoint: 'plain', headers: hdr('model') }), 400, 'ValidationError').Message,
      /not configured for direct invocation/,
    );
  });

  test('target model: any by default, restricted by a models list', async (t) => {
    const emu = await emulator(t, { endpoints: { mme: { models: ['a.tar.gz'] }, any: {} } });
    const hdr = (v: string): SendOptions['headers'] => ({ 'x-amzn-sagemaker-target-model': v });
    assert.equal((await send(emu.port, { endpoint: 'any', headers: hdr('whatever') })).status, 200);
    assert.equal((await send(emu.port, { endpoint: 'mme', headers: hdr('a.tar.gz') })).status, 200);
    const r = await send(emu.port, { endpoint: 'mme', headers: hdr('b.tar.gz') });
    assert.match(assertError(r, 400, 'ValidationError').Message, /^Failed to download model data\(bucket: .*key: models\/b\.tar\.gz\)/);
  });

  test('inference components: required when configured, must exist', async (t) => {
    const emu = await emulator(t, { endpoints: { ic: { inferenceComponents: ['comp-1'] }, plain: {} } });
    const hdr = (v: string): SendOptions['headers'] => ({ 'x-amzn-sagemaker-inference-component': v });
    assert.equal((await send(emu.port, { endpoint: 'ic', headers: hdr('comp-1') })).status, 200);
    assert.match(assertError(await send(emu.port, { endpoint: 'ic' }), 400, 'ValidationError').Message, /Inference Component Name header is required/);
    assert.match(
      assertError(await send(emu.port, { endpoint: 'ic', headers: hdr('comp-2') }), 400, 'ValidationError').Message,
      /comp-2 not found for endpoint ic/,
    );
    assert.match(assertError(await send(emu.port, { endpoint: 'plain', headers: hdr('comp-1') }), 400, 'ValidationError').Message, /comp-1 not found/);
  });
});

describe('input validation (Coral phrasing)', () => {
  const one = (value: string | null, member: string, constraint: string): string =>
    `1 validation error detected: Value ${value === null ? '' : `'${value}' `}at '${member}' failed to satisfy constraint: Member must ${constraint}`;
  const cases: Array<{ name: string; o: SendOptions; message: string }> = [
    {
      name: 'endpoint name pattern',
      o: { endpoint: 'bad_name' },
      message: one('bad_name', 'endpointName', 'satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9])*'),
    },
    { name: 'endpoint name length', o: { endpoint: 'e'.repeat(64) }, message: one('e'.repeat(64), 'endpointName', 'have length less than or equal to 63') },
    {
      name: 'content type not ASCII',
      o: { headers: { 'content-type': 'text/\xe9' } },
      message: one('text/\xe9', 'contentType', 'satisfy regular expression pattern: \\p{ASCII}*'),
    },
    { name: 'accept length', o: { headers: { accept: 'a'.repeat(1025) } }, message: one('a'.repeat(1025), 'accept', 'have length less than or equal to 1024') },
    {
      name: 'custom attributes length (sensitive: value not shown)',
      o: { headers: { 'x-amzn-sagemaker-custom-attributes': 'x'.repeat(1025) } },
      message: one(null, 'customAttributes', 'have length less than or equal to 1024'),
    },
    {
      name: 'target model not printable',
      o: { headers: { 'x-amzn-sagemaker-target-model': 'm\xe9' } },
      message: one('m\xe9', 'targetModel', 'satisfy regular expression pattern: \\A\\S[\\p{Print}]*\\z'),
    },
    {
      name: 'target variant pattern',
      o: { headers: { 'x-amzn-sagemaker-target-variant': 'bad_variant' } },
      message: one('bad_variant', 'targetVariant', 'satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9])*'),
    },
    {
      name: 'target container hostname length',
      o: { headers: { 'x-amzn-sagemaker-target-container-hostname': 'h'.repeat(64) } },
      message: one('h'.repeat(64), 'targetContainerHostname', 'have length less than or equal to 63'),
    },
    {
      name: 'inference id length',
      o: { headers: { 'x-amzn-sagemaker-inference-id': 'i'.repeat(65) } },
      message: one('i'.repeat(65), 'inferenceId', 'have length less than or equal to 64'),
    },
    {
      name: 'inference id empty',
      o: { headers: { 'x-amzn-sagemaker-inference-id': '' } },
      message:
        "2 validation errors detected: Value '' at 'inferenceId' failed to satisfy constraint: Member must satisfy regular expression pattern: \\A\\S[\\p{Print}]*\\z; Value '' at 'inferenceId' failed to satisfy constraint: Member must have length greater than or equal to 1",
    },
    {
      name: 'enable explanations length',
      o: { headers: { 'x-amzn-sagemaker-enable-explanations': 'e'.repeat(65) } },
      message: one('e'.repeat(65), 'enableExplanations', 'have length less than or equal to 64'),
    },
    {
      name: 'inference component pattern',
      o: { headers: { 'x-amzn-sagemaker-inference-component': 'comp-' } },
      message: one('comp-', 'inferenceComponentName', 'satisfy regular expression pattern: ^[a-zA-Z0-9]([\\-a-zA-Z0-9]*[a-zA-Z0-9])?$'),
    },
    {
      name: 'session id pattern',
      o: { headers: { 'x-amzn-sagemaker-session-id': 'new_session' } },
      message: one('new_session', 'sessionId', 'satisfy regular expression pattern: ^(NEW_SESSION)$|^[a-zA-Z0-9](-*[a-zA-Z0-9])*$'),
    },
  ];
  for (const c of cases) {
    test(c.name, async (t) => {
      const emu = await emulator(t);
      const r = await send(emu.port, c.o);
      assert.deepEqual(assertError(r, 400, 'ValidationError'), { Message: c.message });
    });
  }

  test('several violations are counted and joined with "; "', async (t) => {
    const emu = await emulator(t);
    const r = await send(emu.port, { headers: { 'x-amzn-sagemaker-inference-id': 'i'.repeat(65), 'x-amzn-sagemaker-target-variant': '-' } });
    const msg: string = assertError(r, 400, 'ValidationError').Message;
    assert.match(msg, /^2 validation errors detected: Value '-' at 'targetVariant'.*; Value 'i+' at 'inferenceId'/);
  });

  test('body over maxBodyBytes (default 6,291,456) -> ValidationError naming the body', async (t) => {
    const emu = await emulator(t, { maxBodyBytes: 100 });
    assert.equal((await send(emu.port, { body: 'x'.repeat(100) })).status, 200);
    const r = await send(emu.port, { body: 'x'.repeat(101) });
    assert.equal(assertError(r, 400, 'ValidationError').Message, one(null, 'body', 'have length less than or equal to 100'));
    assert.equal(emu.log.at(-1)!.bodyBytes, 101);
    assert.equal(emu.log.at(-1)!.body.length, 0);
    const dflt = await emulator(t);
    assert.equal(dflt.config.maxBodyBytes, 6_291_456);
  });
});

describe('authentication over HTTP', () => {
  test('unsigned -> 403 MissingAuthenticationTokenException', async (t) => {
    const emu = await emulator(t);
    const r = await send(emu.port, { unsigned: true });
    assert.deepEqual(assertError(r, 403, 'MissingAuthenticationTokenException'), { message: 'Missing Authentication Token' });
    assert.equal(r.headers['x-amzn-errortype'], `MissingAuthenticationTokenException:${CORAL_NS}`);
  });

  test('wrong secret, tampered body, wrong region -> 403 InvalidSignatureException', async (t) => {
    const emu = await emulator(t);
    const wrong = await send(emu.port, { credentials: { accessKeyId: EXAMPLE_KEY_ID, secretAccessKey: 'wrong' } });
    assert.match(assertError(wrong, 403, 'InvalidSignatureException').message, /^The request signature we calculated does not match/);
    for (const applyChecksum of [true, false]) {
      const tampered = await send(emu.port, { body: '{"a":1}', sendBody: '{"a":2}', applyChecksum });
      assertError(tampered, 403, 'InvalidSignatureException');
    }
    const region = await send(emu.port, { region: 'eu-west-1' });
    assert.equal(assertError(region, 403, 'InvalidSignatureException').message, "Credential should be scoped to a valid region, not 'eu-west-1'. ");
    const service = await send(emu.port, { service: 'runtime.sagemaker' });
    assert.equal(assertError(service, 403, 'InvalidSignatureException').message, "Credential should be scoped to correct service: 'sagemaker'. ");
  });

  test('unknown key -> UnrecognizedClientException; a configured region is honoured', async (t) => {
    const emu = await emulator(t, { region: 'eu-west-1' });
    assert.equal((await send(emu.port, { region: 'eu-west-1' })).status, 200);
    const r = await send(emu.port, { region: 'eu-west-1', credentials: { accessKeyId: 'AKIAOTHER', secretAccessKey: 'x' } });
    assert.deepEqual(assertError(r, 403, 'UnrecognizedClientException'), { message: 'The security token included in the request is invalid.' });
  });

  test('clock skew: Signature expired, with a Date header to correct from', async (t) => {
    const emu = await emulator(t, { clockOffsetMs: 10 * 60_000 });
    const r = await send(emu.port);
    const msg: string = assertError(r, 403, 'InvalidSignatureException').message;
    assert.match(msg, /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/);
    const serverDate = Date.parse(String(r.headers.date));
    assert.ok(serverDate - Date.now() > 9 * 60_000, 'Date header carries the emulator clock');
    const corrected = await send(emu.port, { signingDate: new Date(serverDate) });
    assert.equal(corrected.status, 200);
  });

  test('temporary credentials: token required, expiry -> ExpiredTokenException', async (t) => {
    const now = Date.now();
    const emu = await emulator(t, {
      credentials: [
        { accessKeyId: 'ASIAVALID', secretAccessKey: 's1', sessionToken: 'token-1', expiresAt: new Date(now + 3600_000).toISOString() },
        { accessKeyId: 'ASIAOLD', secretAccessKey: 's2', sessionToken: 'token-2', expiresAt: now - 1000 },
      ],
    });
    assert.equal((await send(emu.port, { credentials: { accessKeyId: 'ASIAVALID', secretAccessKey: 's1', sessionToken: 'token-1' } })).status, 200);
    const noToken = await send(emu.port, { credentials: { accessKeyId: 'ASIAVALID', secretAccessKey: 's1' } });
    assertError(noToken, 403, 'UnrecognizedClientException');
    const badToken = await send(emu.port, { credentials: { accessKeyId: 'ASIAVALID', secretAccessKey: 's1', sessionToken: 'x' } });
    assertError(badToken, 403, 'UnrecognizedClientException');
    const old = await send(emu.port, { credentials: { accessKeyId: 'ASIAOLD', secretAccessKey: 's2', sessionToken: 'token-2' } });
    assert.deepEqual(assertError(old, 403, 'ExpiredTokenException'), { message: 'The security token included in the request is expired' });
    // The default example key is gone once credentials are configured.
    assertError(await send(emu.port), 403, 'UnrecognizedClientException');
  });

  test('a denied key -> 400 AccessDeniedException naming the endpoint ARN', async (t) => {
    const emu = await emulator(t, { credentials: [{ accessKeyId: 'AKIADENIED', secretAccessKey: 'd', denied: true }] });
    const r = await send(emu.port, { endpoint: 'demo', credentials: { accessKeyId: 'AKIADENIED', secretAccessKey: 'd' } });
    assert.equal(
      assertError(r, 400, 'AccessDeniedException').message,
      'User: arn:aws:iam::123456789012:user/test is not authorized to perform: sagemaker:InvokeEndpoint on resource: ' +
        'arn:aws:sagemaker:us-east-1:123456789012:endpoint/demo because no identity-based policy allows the sagemaker:InvokeEndpoint action',
    );
  });

  test('authentication comes before validation and routing to endpoints', async (t) => {
    const emu = await emulator(t);
    assertError(await send(emu.port, { endpoint: 'nope', unsigned: true }), 403, 'MissingAuthenticationTokenException');
    assertError(await send(emu.port, { endpoint: 'bad_name', unsigned: true }), 403, 'MissingAuthenticationTokenException');
  });
});

describe('sessions', () => {
  test('open, reuse (sticky variant), close, then unknown', async (t) => {
    const emu = await emulator(t, { seed: 7, endpoints: { s: { variants: [{ name: 'A' }, { name: 'B' }] }, other: {} } });
    const sid = (v: string): SendOptions['headers'] => ({ 'x-amzn-sagemaker-session-id': v });
    const opened = await send(emu.port, { endpoint: 's', headers: sid('NEW_SESSION') });
    assert.equal(opened.status, 200);
    const header = String(opened.headers['x-amzn-sagemaker-new-session-id']);
    assert.match(header, /^[a-zA-Z0-9](-*[a-zA-Z0-9])*;\sExpires=\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    const id = header.split(';')[0]!;
    const expires = Date.parse(header.split('Expires=')[1]!);
    assert.ok(expires > Date.now() + 19 * 60_000 && expires <= Date.now() + 20 * 60_000 + 1000);
    const variant = opened.headers['x-amzn-invoked-production-variant'];
    for (let i = 0; i < 6; i++) {
      const r = await send(emu.port, { endpoint: 's', headers: sid(id), body: `{"n":${i}}` });
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-amzn-invoked-production-variant'], variant);
      assert.equal(r.headers['x-amzn-sagemaker-new-session-id'], undefined);
    }
    assertError(await send(emu.port, { endpoint: 'other', headers: sid(id) }), 400, 'ValidationError');
    const closed = await send(emu.port, { endpoint: 's', headers: sid(id), body: '{"closeSession":true}' });
    assert.equal(closed.status, 200);
    assert.equal(closed.headers['x-amzn-sagemaker-closed-session-id'], id);
    const after = await send(emu.port, { endpoint: 's', headers: sid(id) });
    assert.match(assertError(after, 400, 'ValidationError').Message, new RegExp(`Session ${id} not found`));
  });

  test('sessions expire after sessionTtlSeconds (pinned clock)', async (t) => {
    let now = Date.UTC(2026, 0, 1);
    const emu = await emulator(t, { sessionTtlSeconds: 60 }, { now: () => now });
    const at = (): Date => new Date(now);
    const opened = await send(emu.port, { signingDate: at(), headers: { 'x-amzn-sagemaker-session-id': 'NEW_SESSION' } });
    assert.match(String(opened.headers['x-amzn-sagemaker-new-session-id']), /; Expires=2026-01-01T00:01:00Z$/);
    const id = String(opened.headers['x-amzn-sagemaker-new-session-id']).split(';')[0]!;
    now += 59_000;
    assert.equal((await send(emu.port, { signingDate: at(), headers: { 'x-amzn-sagemaker-session-id': id } })).status, 200);
    now += 1_000;
    assertError(await send(emu.port, { signingDate: at(), headers: { 'x-amzn-sagemaker-session-id': id } }), 400, 'ValidationError');
  });
});

describe('faults', () => {
  test('model-error: 424 with the real body shape; originalStatusCode override', async (t) => {
    const emu = await emulator(t);
    const r = await send(emu.port, { body: directive({ fault: 'model-error', originalMessage: 'bad input' }) });
    assert.equal(r.headers['x-amzn-errortype'], `ModelError:${SM_NS}`);
    assert.deepEqual(assertError(r, 424, 'ModelError'), {
      ErrorCode: 'CLIENT_ERROR_FROM_MODEL',
      LogStreamArn: 'arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/demo',
      Message:
        'Received client error (400) from primary with message "bad input". See ' +
        'https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEventViewer:group=/aws/sagemaker/Endpoints/demo ' +
        'in account 123456789012 for more information.',
      OriginalMessage: 'bad input',
      OriginalStatusCode: 400,
    });
    const s = await send(emu.port, { body: directive({ fault: 'model-error', originalStatusCode: 503 }) });
    const body = assertError(s, 424, 'ModelError');
    assert.equal(body.OriginalStatusCode, 503);
    assert.match(body.Message, /^Received server error \(503\) from primary/);
  });

  const simple: Array<[string, number, string, Record<string, unknown>]> = [
    ['throttle', 400, 'ThrottlingException', { message: null }],
    ['not-ready', 429, 'ModelNotReadyException', {}],
    ['internal', 500, 'InternalFailure', {}],
    ['unavailable', 503, 'ServiceUnavailable', {}],
    ['dependency', 530, 'InternalDependencyException', {}],
  ];
  for (const [fault, status, code, exact] of simple) {
    test(`${fault} -> ${status} ${code}`, async (t) => {
      const emu = await emulator(t);
      const r = await send(emu.port, { body: directive({ fault }) });
      const body = assertError(r, status, code);
      if (Object.keys(exact).length > 0) assert.deepEqual(body, exact);
      else assert.equal(typeof body.Message, 'string');
      assert.equal(emu.log.at(-1)!.fault, fault);
      assert.equal(emu.log.at(-1)!.errorCode, code);
    });
  }

  test('retryAfter / retryAfterMs add Retry-After / x-amz-retry-after', async (t) => {
    const emu = await emulator(t);
    const r = await send(emu.port, { body: directive({ fault: 'unavailable', retryAfter: 2, retryAfterMs: 1500 }) });
    assertError(r, 503, 'ServiceUnavailable');
    assert.equal(r.headers['retry-after'], '2');
    assert.equal(r.headers['x-amz-retry-after'], '1500');
    const alias = await send(emu.port, { body: directive({ fault: 'throttle', 'retry-after': 'Fri, 01 Jan 2027 00:00:00 GMT' }) });
    assert.equal(alias.headers['retry-after'], 'Fri, 01 Jan 2027 00:00:00 GMT');
  });

  test('times: N fails the first N attempts of the same body on the same endpoint', async (t) => {
    const emu = await emulator(t);
    const body = directive({ fault: 'throttle', times: 2 }, { id: 1 });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await send(emu.port, { body })).status);
    assert.deepEqual(statuses, [400, 400, 200, 200]);
    assert.deepEqual(
      emu.log.map((e) => e.attempt),
      [1, 2, 3, 4],
    );
    // A different body, or the same body elsewhere, has its own count.
    assert.equal((await send(emu.port, { body: directive({ fault: 'throttle', times: 2 }, { id: 2 }) })).status, 400);
    assert.equal((await send(emu.port, { endpoint: 'my-ep', body })).status, 400);
    emu.reset();
    assert.equal((await send(emu.port, { body })).status, 400);
  });

  test('reset: the socket is destroyed without a response', async (t) => {
    const emu = await emulator(t);
    await assert.rejects(
      send(emu.port, { body: directive({ fault: 'reset' }) }),
      (err: NodeJS.ErrnoException) => ['ECONNRESET', 'EPIPE'].includes(String(err.code)) || /socket hang up/.test(err.message),
    );
    await until(() => emu.inFlight === 0, 'request closed');
    assert.equal(emu.log.at(-1)!.status, 0);
    assert.equal(emu.log.at(-1)!.fault, 'reset');
  });

  test('stall: held until the client gives up', async (t) => {
    const emu = await emulator(t);
    const req = await open(emu.port, { body: directive({ fault: 'stall' }) });
    await until(() => emu.inFlight === 1 && emu.log.length === 1, 'stalled request');
    assert.equal(emu.endpointStats('demo').inFlight, 1);
    req.destroy();
    await until(() => emu.inFlight === 0, 'client gave up');
    assert.equal(emu.endpointStats('demo').inFlight, 0);
    assert.equal(emu.log[0]!.status, 0);
  });

  test('latencyMs directive delays the answer (request stays in flight)', async (t) => {
    const emu = await emulator(t);
    const held = await open(emu.port, { body: directive({ latencyMs: 60_000 }) });
    await until(() => emu.inFlight === 1 && emu.log.length === 1, 'delayed request in flight');
    assert.equal((await send(emu.port, { body: directive({ latencyMs: { min: 1, max: 3 } }) })).status, 200);
    held.destroy();
    await until(() => emu.inFlight === 0, 'abandoned');
  });

  test('a malformed directive is a ValidationError; a non-JSON body mentioning __emulator is plain data', async (t) => {
    const emu = await emulator(t);
    const r = await send(emu.port, { body: directive({ fault: 'explode' }) });
    assert.match(assertError(r, 400, 'ValidationError').Message, /^Invalid emulator directive: config.__emulator.fault must be one of/);
    assert.match(assertError(await send(emu.port, { body: directive({ times: -1, fault: 'throttle' }) }), 400, 'ValidationError').Message, /times/);
    assert.equal((await send(emu.port, { body: 'text with "__emulator" inside' })).status, 200);
  });

  test('random faults: rate 1 always, rate 0 never, seeded and reproducible', async (t) => {
    const emu = await emulator(t, { faults: [{ type: 'internal', rate: 1 }] });
    assertError(await send(emu.port), 500, 'InternalFailure');
    emu.setConfig({ faults: [{ type: 'internal', rate: 0 }] });
    assert.equal((await send(emu.port)).status, 200);
    emu.setConfig({ seed: 99, faults: [], endpoints: { demo: { faults: [{ type: 'unavailable', rate: 0.5, retryAfter: 1 }] } } });
    const run = async (): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < 30; i++) out.push((await send(emu.port, { body: `{"i":${i}}` })).status);
      return out;
    };
    const first = await run();
    assert.ok(first.includes(200) && first.includes(503));
    emu.reset();
    assert.deepEqual(await run(), first);
    assert.equal((await send(emu.port, { endpoint: 'my-ep' })).status, 200, 'per-endpoint faults stay on their endpoint');
  });
});

describe('capacity model', () => {
  test('maxConcurrency K: the K+1th concurrent request is throttled; K changes live', async (t) => {
    const emu = await emulator(t, { endpoints: { demo: { maxConcurrency: 2 }, other: {} } });
    const stall = directive({ fault: 'stall' });
    const held = [await open(emu.port, { body: stall }), await open(emu.port, { body: stall })];
    await until(() => emu.endpointStats('demo').inFlight === 2, 'two in flight');
    const r = await send(emu.port);
    assert.deepEqual(assertError(r, 400, 'ThrottlingException'), { message: null });
    assert.equal((await send(emu.port, { endpoint: 'other' })).status, 200, 'capacity is per endpoint');

    emu.setConfig({ endpoints: { demo: { maxConcurrency: 3 } } });
    held.push(await open(emu.port, { body: stall }));
    await until(() => emu.endpointStats('demo').inFlight === 3, 'three in flight');
    assertError(await send(emu.port), 400, 'ThrottlingException');

    const viaAdmin = await admin(emu.port, 'POST', '/_emulator/config', { endpoints: { demo: { maxConcurrency: null } } });
    assert.equal(viaAdmin.status, 200);
    assert.equal((await send(emu.port)).status, 200);
    assert.equal(emu.endpointStats('demo').maxInFlight, 4);
    for (const h of held) h.destroy();
    await until(() => emu.inFlight === 0, 'all released');
  });

  test('schedule: maxConcurrency steps over time (pinned clock)', async (t) => {
    let now = Date.UTC(2026, 0, 1);
    const emu = await emulator(
      t,
      {
        endpoints: {
          demo: {
            schedule: [
              { atMs: 0, maxConcurrency: 0 },
              { atMs: 1000, maxConcurrency: null },
            ],
          },
        },
      },
      { now: () => now },
    );
    assertError(await send(emu.port, { signingDate: new Date(now) }), 400, 'ThrottlingException');
    now += 1000;
    assert.equal((await send(emu.port, { signingDate: new Date(now) })).status, 200);
    emu.setConfig({ endpoints: { demo: { schedule: [{ atMs: 500, maxConcurrency: 0 }] } } }); // restarts the schedule
    assert.equal((await send(emu.port, { signingDate: new Date(now) })).status, 200);
    now += 500;
    assertError(await send(emu.port, { signingDate: new Date(now) }), 400, 'ThrottlingException');
  });
});

describe('log, counters and admin routes', () => {
  test('log entries record what arrived and how it ended', async (t) => {
    const emu = await emulator(t);
    await send(emu.port, { body: '{"a":1}', headers: { 'X-Amzn-SageMaker-Inference-Id': 'abc' } });
    await send(emu.port, { endpoint: 'nope' });
    const [ok, bad] = emu.log;
    assert.equal(ok!.method, 'POST');
    assert.equal(ok!.path, '/endpoints/demo/invocations');
    assert.equal(ok!.headers['x-amzn-sagemaker-inference-id'], 'abc');
    assert.ok(ok!.headers.authorization!.startsWith('AWS4-HMAC-SHA256 '));
    assert.deepEqual(ok!.body, Buffer.from('{"a":1}'));
    assert.equal(ok!.endpoint, 'demo');
    assert.equal(ok!.variant, 'AllTraffic');
    assert.equal(ok!.status, 200);
    assert.equal(ok!.attempt, 1);
    assert.equal(ok!.accessKeyId, EXAMPLE_KEY_ID);
    assert.match(ok!.requestId, UUID);
    assert.ok(!Number.isNaN(Date.parse(ok!.time)));
    assert.equal(bad!.status, 400);
    assert.equal(bad!.errorCode, 'ValidationError');
    assert.deepEqual(
      emu.log.map((e) => e.seq),
      [1, 2],
    );
  });

  test('inFlight / maxInFlight, globally and per endpoint; reset clears', async (t) => {
    const emu = await emulator(t);
    const stall = directive({ fault: 'stall' });
    const held = await Promise.all([1, 2, 3].map(() => open(emu.port, { body: stall })));
    await until(() => emu.inFlight === 3, 'three stalled');
    assert.equal(emu.maxInFlight, 3);
    assert.deepEqual(emu.endpointStats('demo'), { requests: 3, inFlight: 3, maxInFlight: 3 });
    for (const h of held) h.destroy();
    await until(() => emu.inFlight === 0, 'released');
    assert.equal(emu.maxInFlight, 3);
    emu.reset();
    assert.equal(emu.maxInFlight, 0);
    assert.equal(emu.log.length, 0);
    assert.deepEqual(emu.stats(), {
      requests: 0,
      inFlight: 0,
      maxInFlight: 0,
      byStatus: {},
      endpoints: { demo: { requests: 0, inFlight: 0, maxInFlight: 0 } },
      async: NO_ASYNC,
    });
  });

  test('logLimit bounds the log; 0 disables it', async (t) => {
    const emu = await emulator(t, { logLimit: 4 });
    for (let i = 0; i < 7; i++) await send(emu.port, { body: `{"i":${i}}` });
    assert.ok(emu.log.length <= 4);
    assert.equal(emu.log.at(-1)!.seq, 7);
    emu.setConfig({ logLimit: 0 });
    emu.reset();
    await send(emu.port);
    assert.equal(emu.log.length, 0);
    assert.equal(emu.stats().requests, 1);
  });

  test('the log is bounded in bytes too: past the bound the oldest entries go until half is left', async (t) => {
    const emu = await emulator(t, {}, { logBodyBytes: 10_000 });
    const body = (i: number): string => JSON.stringify({ i, pad: 'x'.repeat(2_000) }); // ~2 KB each
    for (let i = 0; i < 12; i++) {
      await send(emu.port, { body: body(i) });
      const bytes = emu.log.reduce((a, e) => a + e.body.length, 0);
      assert.ok(bytes <= 10_000, `${bytes} bytes of bodies after request ${i + 1}`);
    }
    assert.equal(emu.log.at(-1)!.seq, 12); // the newest is always kept
    assert.ok(emu.log.length >= 2);
    assert.equal(emu.stats().requests, 12);
    emu.reset();
    for (let i = 0; i < 4; i++) await send(emu.port, { body: body(i) });
    assert.equal(emu.log.length, 4); // the count starts over with the log
  });

  test('GET /_emulator/log, /stats, /config; POST /reset, /config; unknown -> 404; admin calls are not logged', async (t) => {
    const emu = await emulator(t);
    await send(emu.port, { body: Buffer.from([0xff, 0x01]) });
    const log = await admin(emu.port, 'GET', '/_emulator/log');
    assert.equal(log.status, 200);
    assert.equal(log.json.length, 1);
    assert.equal(log.json[0].body, Buffer.from([0xff, 0x01]).toString('base64'));
    assert.equal(log.json[0].status, 200);
    assert.equal(log.json[0].headers.host, `127.0.0.1:${emu.port}`);

    const stats = await admin(emu.port, 'GET', '/_emulator/stats');
    assert.deepEqual(stats.json, {
      requests: 1,
      inFlight: 0,
      maxInFlight: 1,
      byStatus: { '200': 1 },
      endpoints: { demo: { requests: 1, inFlight: 0, maxInFlight: 1 } },
      async: NO_ASYNC,
    });

    const bad = await admin(emu.port, 'POST', '/_emulator/config', { latencyMs: -5 });
    assert.equal(bad.status, 400);
    assert.match(bad.json.message, /^config\.latencyMs must be/);
    const notJson = await rawSend(emu.port, 'POST', '/_emulator/config', {}, Buffer.from('{nope'));
    assert.equal(notJson.status, 400);
    assert.match(notJson.json.message, /not valid JSON/);

    const set = await admin(emu.port, 'POST', '/_emulator/config', { faults: [{ type: 'throttle', rate: 1 }], endpoints: { extra: {} } });
    assert.equal(set.status, 200);
    assert.deepEqual(set.json.endpoints.extra, { variants: [{ name: 'AllTraffic', weight: 1 }] });
    assertError(await send(emu.port, { endpoint: 'extra' }), 400, 'ThrottlingException');
    assert.deepEqual((await admin(emu.port, 'GET', '/_emulator/config')).json.faults, [{ type: 'throttle', rate: 1 }]);

    assert.deepEqual((await admin(emu.port, 'POST', '/_emulator/reset')).json, { ok: true });
    assert.deepEqual((await admin(emu.port, 'GET', '/_emulator/log')).json, []);
    assert.equal((await admin(emu.port, 'GET', '/_emulator/nope')).status, 404);
    assert.equal(emu.log.length, 0);
  });

  test('config is checked: bad values name the field', async (t) => {
    await assert.rejects(startEmulator({ endpoints: { x: { variants: [] } } }), /config\.endpoints\.x\.variants must be a non-empty array/);
    await assert.rejects(startEmulator({ faults: [{ type: 'nope' as never, rate: 1 }] }), /config\.faults\[0\]\.type must be one of/);
    await assert.rejects(startEmulator({ credentials: [{ accessKeyId: '', secretAccessKey: 'x' }] }), /config\.credentials\[0\]\.accessKeyId/);
    const emu = await emulator(t);
    assert.throws(() => emu.setConfig({ endpoints: { demo: { maxConcurrency: -1 } } }), /maxConcurrency must be an integer >= 0 or null/);
    assert.throws(() => emu.setConfig({ latencyMs: { min: 5, max: 1 } }), /latencyMs/);
    assert.equal(emu.config.endpoints.demo!.maxConcurrency, undefined, 'a rejected update changes nothing');
    emu.setConfig({ endpoints: { 'my-ep': null } });
    assertError(await send(emu.port, { endpoint: 'my-ep' }), 400, 'ValidationError');
  });
});

describe('close()', () => {
  test('closes promptly with a stalled request and idle keep-alive sockets', async () => {
    const emu = await startEmulator();
    const stalled = await open(emu.port, { body: directive({ fault: 'stall' }) });
    const slow = await open(emu.port, { body: directive({ latencyMs: 600_000 }) });
    await until(() => emu.inFlight === 2, 'two open requests');
    await emu.close();
    await assert.rejects(stalled.reply);
    await assert.rejects(slow.reply);
  });
});
