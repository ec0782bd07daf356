// sign.ts: @smithy/signature-v4 with node:crypto hashing; every signature must verify with the
// emulator's independent verifier and equal, byte for byte, the signer with @aws-crypto/sha256-js.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256, createSigner, payloadHash } from '../../../src/aws/sign.js';
import { verifySigV4 } from '../../../src/emulator/sigv4-verify.js';
import { mulberry32 } from '../../../src/emulator/prng.js';
import { buildRequest, parseTarget, type HttpRequestSpec } from '../../../src/core/request.js';
import type { FieldValues } from '../../../src/core/fields.js';

const KEYS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnfEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const SESSION = { ...KEYS, sessionToken: 'FwoGZXIvYXdzEJr//////////wEaDOo+example/token==' };

/** What @smithy/signature-v4 with the reference hash produces for the same request (x-amz-content-sha256 signed, as sign.ts does). */
async function reference(request: HttpRequestSpec, date: Date, credentials: typeof KEYS, region = 'us-east-1'): Promise<Record<string, string>> {
  const signer = new SignatureV4({ service: 'sagemaker', region, credentials, sha256: Sha256, uriEscapePath: true });
  const hash = createHash('sha256').update(request.body).digest('hex');
  const signed = await signer.sign({ ...request, headers: { ...request.headers, 'x-amz-content-sha256': hash }, query: {} }, { signingDate: date });
  return signed.headers as Record<string, string>;
}

/** The emulator's independent verifier (node:crypto, written from the SigV4 spec) checks a signed request. */
function verify(signed: HttpRequestSpec, date: Date, region: string, creds: typeof KEYS & { sessionToken?: string }) {
  const rawHeaders = Object.entries(signed.headers).flat();
  return verifySigV4(
    { method: signed.method, url: signed.path, rawHeaders, bodySha256: createHash('sha256').update(signed.body).digest('hex') },
    { region, service: 'sagemaker', now: date.getTime(), lookup: (id) => (id === creds.accessKeyId ? creds : undefined) },
  );
}

test('signatures verify with an independent verifier over random records, dates, regions and credentials', async () => {
  const targets = ['https://runtime.sagemaker.us-east-1.amazonaws.com', 'http://127.0.0.1:8080', 'https://example.com/base/path/', 'http://[::1]:9000'];
  for (let seed = 1; seed <= 200; seed++) {
    const rnd = mulberry32(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const fields: FieldValues = { endpointName: pick(['demo', 'my-ep', 'a', 'A-1-b']) };
    if (rnd() < 0.7) fields.contentType = pick(['application/json', 'text/csv', 'application/json; charset=utf-8']);
    if (rnd() < 0.4) fields.accept = pick(['application/json', '*/*']);
    if (rnd() < 0.3) fields.customAttributes = pick(['c000b4f9-df62-4c85-a0bf-7c525f9104a4', 'trace=1,mode=fast', 'a  b\tc']);
    if (rnd() < 0.3) fields.targetVariant = 'Variant-2';
    if (rnd() < 0.3) fields.inferenceId = `id-${seed}`;
    if (rnd() < 0.2) fields.sessionId = 'NEW_SESSION';
    if (rnd() < 0.2) fields.targetModel = 'model.tar.gz';
    if (rnd() < 0.2) fields.inferenceComponentName = 'ic-1';
    const body = Buffer.from(pick(['', '{"a":1}', 'x'.repeat(Math.floor(rnd() * 5000))]));
    const request = buildRequest({ line: seed, fields, body }, parseTarget(pick(targets)));
    const date = new Date(Date.UTC(2026, 0, 1) + Math.floor(rnd() * 400 * 86_400_000));
    const creds = rnd() < 0.5 ? KEYS : SESSION;
    const region = pick(['us-east-1', 'eu-west-2', 'cn-north-1']);
    const signed = await createSigner({ credentials: async () => creds, region })(request, date);
    const result = verify(signed, date, region, creds);
    assert.ok(result.ok, `seed ${seed}: ${result.ok ? '' : `${result.error.code} ${JSON.stringify(result.error.body)}`}`);
    assert.equal(signed.headers['x-amz-content-sha256'], createHash('sha256').update(body).digest('hex'));
    assert.equal(signed.headers['x-amz-security-token'], 'sessionToken' in creds ? creds.sessionToken : undefined);
    // And the result is @smithy/signature-v4's with the pure-JS reference hash (@aws-crypto/sha256-js), byte for byte.
    assert.deepEqual(signed.headers, await reference(request, date, creds, region), `seed ${seed}`);
  }
});

test('the signing key follows the day and the secret', async () => {
  let creds = KEYS;
  const sign = createSigner({ credentials: async () => creds, region: 'us-east-1' });
  const request = buildRequest({ line: 1, fields: { endpointName: 'demo' }, body: Buffer.from('{}') }, parseTarget('http://127.0.0.1:1'));
  for (const date of [new Date('2026-03-01T23:59:59.999Z'), new Date('2026-03-02T00:00:00.000Z'), new Date('2026-03-02T00:00:00.500Z')]) {
    assert.deepEqual((await sign(request, date)).headers, await reference(request, date, creds), date.toISOString());
  }
  creds = { accessKeyId: 'AKIAI44QH8DHBEXAMPLE', secretAccessKey: 'je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY' };
  const date = new Date('2026-03-02T00:00:00.000Z');
  assert.deepEqual((await sign(request, date)).headers, await reference(request, date, creds));
});

test('unusual paths and header values are signed as @smithy/signature-v4 signs them', async () => {
  const date = new Date('2026-05-05T05:05:05Z');
  const sign = createSigner({ credentials: async () => SESSION, region: 'us-east-1' });
  const base: HttpRequestSpec = {
    method: 'POST',
    protocol: 'https:',
    hostname: 'h',
    port: undefined,
    path: '/endpoints/demo/invocations',
    headers: { host: 'h', 'content-length': '2' },
    body: Buffer.from('{}'),
  };
  const cases: HttpRequestSpec[] = [
    { ...base, path: '/my%20base/endpoints/demo/invocations' }, // escaped base path: escaped again
    { ...base, path: '/a/./b/../endpoints/demo/invocations' }, // dot segments: normalised
    { ...base, path: '/base//endpoints/demo/invocations' }, // empty segment
    { ...base, headers: { ...base.headers, 'x-amzn-sagemaker-custom-attributes': 'a  b\tc ' } }, // blanks squeezed
    { ...base, headers: { ...base.headers, 'Content-Type': 'application/json' } }, // upper-case name
    { ...base, headers: { ...base.headers, date: 'Tue, 05 May 2026 05:05:05 GMT' } }, // generated header: dropped
    { ...base, headers: { ...base.headers, 'proxy-authorization': 'x', 'sec-foo': 'y', 'user-agent': 'z' } }, // unsignable
  ];
  for (const request of cases) {
    assert.deepEqual((await sign(request, date)).headers, await reference(request, date, SESSION), JSON.stringify(request.headers) + request.path);
  }
});

test('the input request is not mutated, and bad credentials are an error', async () => {
  const request = buildRequest({ line: 1, fields: { endpointName: 'demo' }, body: Buffer.from('x') }, parseTarget('http://127.0.0.1:1'));
  const copy = structuredClone(request.headers);
  await createSigner({ credentials: async () => KEYS, region: 'us-east-1' })(request, new Date());
  assert.deepEqual(request.headers, copy);
  const broken = createSigner({ credentials: async () => ({ accessKeyId: 'x' }) as never, region: 'us-east-1' });
  await assert.rejects(broken(request, new Date()), /credential/i);
});

test('payloadHash and NodeSha256 (hash and HMAC, with reset) agree with @aws-crypto/sha256-js', async () => {
  for (const body of [Buffer.alloc(0), Buffer.from('abc'), Buffer.alloc(100_000, 7)]) {
    const js = new Sha256();
    js.update(body);
    const expected = Buffer.from(await js.digest());
    assert.equal(payloadHash(body), expected.toString('hex'));
    const native = new NodeSha256();
    native.update(body);
    assert.deepEqual(Buffer.from(await native.digest()), expected);
  }
  for (const key of ['key', Buffer.from([1, 2, 3]), new Uint8Array(70).buffer]) {
    const js = new Sha256(key);
    js.update(Buffer.from('data'));
    const native = new NodeSha256(key);
    native.update(Buffer.from('ignored'));
    native.reset();
    native.update(Buffer.from('data'));
    assert.deepEqual(Buffer.from(await native.digest()), Buffer.from(await js.digest()));
  }
});

test('NodeSha256 keeps a small first chunk, streams the rest, and never answers from a stale cache', async () => {
  const js = async (key: string | Uint8Array | undefined, ...chunks: Uint8Array[]): Promise<Buffer> => {
    const h = new Sha256(key);
    for (const c of chunks) h.update(c);
    return Buffer.from(await h.digest());
  };
  const native = async (key: string | Uint8Array | undefined, ...chunks: Uint8Array[]): Promise<Buffer> => {
    const h = new NodeSha256(key);
    for (const c of chunks) h.update(c);
    return Buffer.from(await h.digest());
  };
  const small = Buffer.from('small'),
    big = Buffer.alloc(40_000, 3),
    more = Buffer.from('more');
  for (const key of [undefined, 'k', Buffer.from('bytes-key')]) {
    for (const chunks of [[small], [big], [small, more], [small, big, more], [big, small], []]) {
      assert.deepEqual(await native(key, ...chunks), await js(key, ...chunks), `${String(key)} ${chunks.map((c) => c.length)}`);
    }
  }
  // A chunk is copied when kept: the caller reusing its array does not change the digest.
  const reused = Buffer.from('first');
  const h = new NodeSha256();
  h.update(reused);
  reused.fill(0);
  assert.deepEqual(Buffer.from(await h.digest()), await js(undefined, Buffer.from('first')));
  assert.deepEqual(Buffer.from(await h.digest()), await js(undefined, Buffer.from('first')), 'digest twice: same bytes');
  assert.throws(() => h.update(small), /after digest/);
  h.reset();
  h.update(small);
  assert.deepEqual(Buffer.from(await h.digest()), await js(undefined, small));
  // The remembered HMAC under a string secret answers only for the same secret and the same data.
  for (const [key, data] of [
    ['s1', 'AKIA1'],
    ['s1', 'AKIA1'],
    ['s2', 'AKIA1'],
    ['s1', 'AKIA2'],
    ['s1', 'AKIA1'],
  ] as const) {
    assert.deepEqual(await native(key, Buffer.from(data)), await js(key, Buffer.from(data)), `${key} ${data}`);
  }
  const out = await new NodeSha256('s1').digest();
  out.fill(0); // a caller scribbling on a digest does not reach the next one
  assert.deepEqual(await native('s1'), await js('s1'));
  // The cached KeyObject for a byte key is checked against the key's bytes.
  const key = Buffer.from('key-one');
  assert.deepEqual(await native(key, small), await js(Buffer.from('key-one'), small));
  key.write('key-two');
  assert.deepEqual(await native(key, small), await js(Buffer.from('key-two'), small));
});
