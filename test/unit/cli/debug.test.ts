// debug.ts: redaction and the rebuilt canonical request.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalRequest, redactHeaders } from '../../../src/cli/debug.js';
import { createSigner } from '../../../src/aws/sign.js';

const SECRET = 'wJalrXUtnfEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const TOKEN = 'FwoGZXIvYXdzEXAMPLETOKEN';

test('signed headers are printed without signature, token or key id', async () => {
  const sign = createSigner({
    credentials: async () => ({ accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: SECRET, sessionToken: TOKEN }),
    region: 'us-east-1',
  });
  const signed = await sign(
    {
      method: 'POST',
      protocol: 'https:',
      hostname: 'h',
      port: undefined,
      path: '/endpoints/e/invocations',
      headers: { host: 'h', 'content-type': 'application/json', 'content-length': '2', 'x-amzn-sagemaker-custom-attributes': 'user=alice' },
      body: Buffer.from('{}'),
    },
    new Date('2026-06-01T00:00:00Z'),
  );
  const red = redactHeaders(signed.headers);
  const text = JSON.stringify(red) + canonicalRequest(signed);
  assert.ok(!text.includes(TOKEN), 'session token');
  assert.ok(!text.includes(SECRET), 'secret');
  assert.ok(!text.includes('AKIAIOSFODNN7EXAMPLE'), 'full key id');
  assert.ok(!text.includes(/Signature=([0-9a-f]{64})/.exec(signed.headers.authorization!)![1]!), 'signature');
  assert.match(
    red.authorization!,
    /^AWS4-HMAC-SHA256 Credential=AKIA\*\*\*\*\/20260601\/us-east-1\/sagemaker\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=<redacted>$/,
  );
  assert.equal(red['x-amz-security-token'], '<redacted>');
  assert.equal(red['x-amzn-sagemaker-custom-attributes'], 'user=alice', 'not a credential: shown for debugging');
  const canon = canonicalRequest(signed).split('\n');
  assert.equal(canon[0], 'POST');
  assert.equal(canon[1], '/endpoints/e/invocations');
  assert.ok(canon.includes('content-type:application/json'));
  assert.ok(canon.includes('x-amz-security-token:<redacted>'));
  assert.equal(canon[canon.length - 1], signed.headers['x-amz-content-sha256']);
});
