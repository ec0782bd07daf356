import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  canonicalHeaders,
  canonicalUri,
  parseAuthorization,
  type ReceivedRequest,
  type VerifierCredential,
  verifySigV4,
  type VerifyResult,
} from '../../src/emulator/sigv4-verify.js';

const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');
const hmac = (k: string | Buffer, s: string): Buffer => createHmac('sha256', k).update(s).digest();

function codeOf(r: VerifyResult): string {
  return r.ok ? 'ok' : r.error.code;
}
function messageOf(r: VerifyResult): string {
  return r.ok ? '' : String(r.error.body.message);
}

// --- Published AWS SigV4 test-suite vectors (service "service", 2015-08-30) --
// Only cases whose path is made of unreserved characters: the wire path is then
// identical to the suite's unencoded path.
describe('AWS SigV4 test-suite vectors', () => {
  const suiteKey: VerifierCredential = {
    accessKeyId: 'AKIDEXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  };
  const token =
    'AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8Y' +
    'UuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6f' +
    'E8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj' +
    '2ICCR/oLxBA==';
  const scope = 'Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request';
  const base = ['Host', 'example.amazonaws.com', 'X-Amz-Date', '20150830T123600Z'];
  const cases: Array<{ name: string; method: string; url: string; headers: string[]; signed: string; sig: string; body?: string; token?: boolean }> = [
    {
      name: 'get-vanilla',
      method: 'GET',
      url: '/',
      headers: base,
      signed: 'host;x-amz-date',
      sig: '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    },
    {
      name: 'post-vanilla',
      method: 'POST',
      url: '/',
      headers: base,
      signed: 'host;x-amz-date',
      sig: '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b',
    },
    {
      name: 'get-unreserved',
      method: 'GET',
      url: '/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
      headers: base,
      signed: 'host;x-amz-date',
      sig: '07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f',
    },
    {
      name: 'post-vanilla-query',
      method: 'POST',
      url: '/?Param1=value1',
      headers: base,
      signed: 'host;x-amz-date',
      sig: '28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11',
    },
    {
      name: 'get-vanilla-query-order-key-case',
      method: 'GET',
      url: '/?Param2=value2&Param1=value1',
      headers: base,
      signed: 'host;x-amz-date',
      sig: 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500',
    },
    {
      name: 'get-header-key-duplicate (repeated header lines joined with ",")',
      method: 'GET',
      url: '/',
      headers: [...base, 'My-Header1', 'value2', 'My-Header1', 'value2', 'My-Header1', 'value1'],
      signed: 'host;my-header1;x-amz-date',
      sig: 'c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea',
    },
    {
      name: 'get-header-value-trim (inner whitespace collapsed)',
      method: 'GET',
      url: '/',
      headers: [...base, 'My-Header1', ' value1', 'My-Header2', ' "a   b   c"'],
      signed: 'host;my-header1;my-header2;x-amz-date',
      sig: 'acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736',
    },
    {
      name: 'post-x-www-form-urlencoded (body hashed)',
      method: 'POST',
      url: '/',
      headers: ['Content-Type', 'application/x-www-form-urlencoded', ...base],
      body: 'Param1=value1',
      signed: 'content-type;host;x-amz-date',
      sig: 'ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a',
    },
    {
      name: 'post-sts-header-before (session token signed)',
      method: 'POST',
      url: '/',
      headers: [...base, 'X-Amz-Security-Token', token],
      token: true,
      signed: 'host;x-amz-date;x-amz-security-token',
      sig: '85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const key = c.token ? { ...suiteKey, sessionToken: token } : suiteKey;
      const req: ReceivedRequest = {
        method: c.method,
        url: c.url,
        rawHeaders: [...c.headers, 'Authorization', `AWS4-HMAC-SHA256 ${scope}, SignedHeaders=${c.signed}, Signature=${c.sig}`],
        bodySha256: sha(c.body ?? ''),
      };
      const opts = { region: 'us-east-1', service: 'service', now: Date.UTC(2015, 7, 30, 12, 36), lookup: () => key };
      assert.equal(codeOf(verifySigV4(req, opts)), 'ok');
      // One flipped signature nibble must fail.
      const bad = { ...req, rawHeaders: req.rawHeaders.map((h) => h.replace(/Signature=(.)/, (_m, ch) => `Signature=${ch === '0' ? '1' : '0'}`)) };
      assert.equal(codeOf(verifySigV4(bad, opts)), 'InvalidSignatureException');
    });
  }
});

// --- A SageMaker request signed by hand, following the published algorithm ---
const NOW = Date.UTC(2026, 0, 1, 0, 10, 0); // 20260101T001000Z
const KEY: VerifierCredential = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnfEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const TEMP: VerifierCredential = { accessKeyId: 'ASIATEMPEXAMPLE', secretAccessKey: 'tempsecret', sessionToken: 'tok==/+', expiresAtMs: NOW + 3600_000 };
const lookup = (id: string): VerifierCredential | undefined => ({ [KEY.accessKeyId]: KEY, [TEMP.accessKeyId]: TEMP })[id];
const OPTS = { region: 'us-east-1', service: 'sagemaker', now: NOW, lookup };

interface HandSigned {
  method?: string;
  url?: string;
  headers?: Array<[string, string]>;
  body?: string;
  date?: string;
  key?: VerifierCredential;
  region?: string;
  service?: string;
  signed?: string[];
}

/** Independent hand signer for the tests (canonical request spelled out). */
function handSign(o: HandSigned = {}): ReceivedRequest {
  const date = o.date ?? '20260101T000900Z';
  const key = o.key ?? KEY;
  const body = o.body ?? '{"x":1}';
  const headers: Array<[string, string]> = o.headers ?? [
    ['Host', 'runtime.example:443'],
    ['Content-Type', 'application/json'],
    ['X-Amz-Date', date],
  ];
  const signed = o.signed ?? headers.map(([n]) => n.toLowerCase()).sort();
  const canonical = [
    o.method ?? 'POST',
    '/endpoints/demo/invocations',
    '',
    ...signed.map(
      (n) =>
        `${n}:${headers
          .filter(([h]) => h.toLowerCase() === n)
          .map(([, v]) => v.trim())
          .join(',')}`,
    ),
    '',
    signed.join(';'),
    sha(body),
  ].join('\n');
  const scope = `${date.slice(0, 8)}/${o.region ?? 'us-east-1'}/${o.service ?? 'sagemaker'}/aws4_request`;
  const toSign = `AWS4-HMAC-SHA256\n${date}\n${scope}\n${sha(canonical)}`;
  let k: Buffer = hmac(`AWS4${key.secretAccessKey}`, date.slice(0, 8));
  for (const part of [o.region ?? 'us-east-1', o.service ?? 'sagemaker', 'aws4_request']) k = hmac(k, part);
  const sig = hmac(k, toSign).toString('hex');
  return {
    method: o.method ?? 'POST',
    url: o.url ?? '/endpoints/demo/invocations',
    rawHeaders: [
      ...headers.flat(),
      'Authorization',
      `AWS4-HMAC-SHA256 Credential=${key.accessKeyId}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${sig}`,
    ],
    bodySha256: sha(body),
  };
}

const setHeader = (req: ReceivedRequest, name: string, value: string): ReceivedRequest => {
  const raw = [...req.rawHeaders];
  const i = raw.findIndex((h, j) => j % 2 === 0 && h.toLowerCase() === name);
  if (i === -1) raw.push(name, value);
  else raw[i + 1] = value;
  return { ...req, rawHeaders: raw };
};
const dropHeader = (req: ReceivedRequest, name: string): ReceivedRequest => {
  const raw: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() !== name) raw.push(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  }
  return { ...req, rawHeaders: raw };
};

describe('hand-signed SageMaker requests', () => {
  test('a correct signature verifies', () => {
    const r = verifySigV4(handSign(), OPTS);
    assert.ok(r.ok);
    assert.equal(r.credential.accessKeyId, KEY.accessKeyId);
  });

  test('Date header instead of X-Amz-Date', () => {
    const req = handSign({
      date: '20260101T000900Z',
      headers: [
        ['Host', 'h'],
        ['Date', 'Thu, 01 Jan 2026 00:09:00 GMT'],
      ],
    });
    assert.equal(codeOf(verifySigV4(req, OPTS)), 'ok');
  });

  test('tampered header, body, path or method -> signature mismatch, showing the canonical request', () => {
    const good = handSign();
    for (const bad of [
      setHeader(good, 'content-type', 'text/plain'),
      { ...good, bodySha256: sha('{"x":2}') },
      { ...good, url: '/endpoints/demo2/invocations' },
      { ...good, url: '/endpoints/demo/invocations?x=1' },
      { ...good, method: 'PUT' },
      setHeader(good, 'x-amz-date', '20260101T000901Z'),
    ]) {
      const r = verifySigV4(bad, OPTS);
      assert.equal(codeOf(r), 'InvalidSignatureException');
      assert.match(messageOf(r), /^The request signature we calculated does not match the signature you provided\./);
      assert.match(messageOf(r), /The Canonical String for this request should have been\n'POST|PUT/);
    }
  });

  test('wrong secret -> InvalidSignatureException; unknown key -> UnrecognizedClientException', () => {
    const wrongSecret = handSign({ key: { ...KEY, secretAccessKey: 'nope' } });
    assert.equal(codeOf(verifySigV4(wrongSecret, OPTS)), 'InvalidSignatureException');
    const unknown = handSign({ key: { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'x' } });
    const r = verifySigV4(unknown, OPTS);
    assert.equal(codeOf(r), 'UnrecognizedClientException');
    assert.equal(messageOf(r), 'The security token included in the request is invalid.');
    assert.equal(r.ok ? 0 : r.error.status, 403);
  });

  test('credential scope: service, region, terminator and date', () => {
    let r = verifySigV4(handSign({ service: 'runtime.sagemaker' }), OPTS);
    assert.equal(codeOf(r), 'InvalidSignatureException');
    assert.equal(messageOf(r), "Credential should be scoped to correct service: 'sagemaker'. ");
    r = verifySigV4(handSign({ region: 'us-west-2' }), OPTS);
    assert.equal(messageOf(r), "Credential should be scoped to a valid region, not 'us-west-2'. ");
    const term = handSign();
    r = verifySigV4(setHeader(term, 'authorization', term.rawHeaders.at(-1)!.replace('aws4_request', 'aws5_request')), OPTS);
    assert.match(messageOf(r), /valid terminator: 'aws4_request', not 'aws5_request'/);
    r = verifySigV4(setHeader(handSign(), 'x-amz-date', '20260102T000900Z'), OPTS);
    assert.match(messageOf(r), /^Date in Credential scope does not match YYYYMMDD/);
  });

  test('clock window of 5 minutes, with AWS wording', () => {
    assert.equal(codeOf(verifySigV4(handSign({ date: '20260101T000500Z' }), OPTS)), 'ok'); // exactly 5 min
    let r = verifySigV4(handSign({ date: '20260101T000000Z' }), OPTS);
    assert.equal(codeOf(r), 'InvalidSignatureException');
    assert.equal(r.ok ? 0 : r.error.status, 403);
    assert.equal(messageOf(r), 'Signature expired: 20260101T000000Z is now earlier than 20260101T000500Z (20260101T001000Z - 5 min.)');
    r = verifySigV4(handSign({ date: '20260101T002000Z' }), OPTS);
    assert.equal(messageOf(r), 'Signature not yet current: 20260101T002000Z is still later than 20260101T001500Z (20260101T001000Z + 5 min.)');
  });

  test('missing and malformed Authorization', () => {
    let r = verifySigV4(dropHeader(handSign(), 'authorization'), OPTS);
    assert.equal(codeOf(r), 'MissingAuthenticationTokenException');
    assert.deepEqual(r.ok ? {} : r.error.body, { message: 'Missing Authentication Token' });
    r = verifySigV4(setHeader(handSign(), 'authorization', 'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/sagemaker/aws4_request'), OPTS);
    assert.equal(codeOf(r), 'IncompleteSignatureException');
    assert.equal(r.ok ? 0 : r.error.status, 400);
    assert.match(messageOf(r), /requires 'Signature' parameter\. Authorization header requires 'SignedHeaders' parameter\./);
    r = verifySigV4(setHeader(handSign(), 'authorization', 'Bearer abc'), OPTS);
    assert.equal(codeOf(r), 'IncompleteSignatureException');
    r = verifySigV4(setHeader(handSign(), 'authorization', 'AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=host, Signature=00'), OPTS);
    assert.match(messageOf(r), /exactly 5 slash-delimited elements/);
  });

  test('a date is required; a malformed X-Amz-Date is rejected', () => {
    const noDate = handSign({ headers: [['Host', 'h']] });
    const r = verifySigV4(noDate, OPTS);
    assert.equal(codeOf(r), 'IncompleteSignatureException');
    assert.match(messageOf(r), /requires existence of either a 'X-Amz-Date' or a 'Date' header/);
    assert.match(messageOf(verifySigV4(setHeader(handSign(), 'x-amz-date', '2026-01-01T00:09:00Z'), OPTS)), /ISO-8601 'basic format'/);
  });

  test('host must be signed', () => {
    const req = handSign({ signed: ['content-type', 'x-amz-date'] });
    const r = verifySigV4(req, OPTS);
    assert.equal(codeOf(r), 'InvalidSignatureException');
    assert.match(messageOf(r), /'Host' or ':authority' must be a 'SignedHeader'/);
  });

  test('session tokens: required, matching, signed; expiry', () => {
    const h = (token?: string, date = '20260101T000900Z'): Array<[string, string]> => [
      ['Host', 'h'],
      ['X-Amz-Date', date],
      ...(token === undefined ? [] : [['X-Amz-Security-Token', token] as [string, string]]),
    ];
    assert.equal(codeOf(verifySigV4(handSign({ key: TEMP, headers: h('tok==/+') }), OPTS)), 'ok');
    assert.equal(codeOf(verifySigV4(handSign({ key: TEMP, headers: h() }), OPTS)), 'UnrecognizedClientException');
    assert.equal(codeOf(verifySigV4(handSign({ key: TEMP, headers: h('other') }), OPTS)), 'UnrecognizedClientException');
    assert.equal(codeOf(verifySigV4(handSign({ key: KEY, headers: h('tok') }), OPTS)), 'UnrecognizedClientException');
    const unsigned = handSign({ key: TEMP, headers: h('tok==/+'), signed: ['host', 'x-amz-date'] });
    assert.equal(codeOf(verifySigV4(unsigned, OPTS)), 'InvalidSignatureException');
    const r = verifySigV4(handSign({ key: TEMP, headers: h('tok==/+') }), { ...OPTS, now: NOW + 3600_000 });
    assert.equal(codeOf(r), 'InvalidSignatureException'); // the date is now out of the window first
    const late = handSign({ key: TEMP, headers: h('tok==/+', '20260101T011000Z'), date: '20260101T011000Z' });
    const expired = verifySigV4(late, { ...OPTS, now: NOW + 3600_000 });
    assert.equal(codeOf(expired), 'ExpiredTokenException');
    assert.equal(messageOf(expired), 'The security token included in the request is expired');
  });

  test('x-amz-content-sha256 must describe the body actually received', () => {
    const body = '{"x":1}';
    const withHash = handSign({
      headers: [
        ['Host', 'h'],
        ['X-Amz-Content-Sha256', sha(body)],
        ['X-Amz-Date', '20260101T000900Z'],
      ],
      body,
    });
    assert.equal(codeOf(verifySigV4(withHash, OPTS)), 'ok');
    const r = verifySigV4({ ...withHash, bodySha256: sha('{"x":2}') }, OPTS);
    assert.equal(codeOf(r), 'InvalidSignatureException');
    assert.match(messageOf(r), /x-amz-content-sha256/);
  });

  test('the key cache gives the same answers', () => {
    const keyCache = new Map<string, Buffer>();
    for (let i = 0; i < 3; i++) assert.equal(codeOf(verifySigV4(handSign(), { ...OPTS, keyCache })), 'ok');
    assert.equal(keyCache.size, 1);
    assert.equal(codeOf(verifySigV4(handSign({ key: { ...KEY, secretAccessKey: 'x' } }), { ...OPTS, keyCache })), 'InvalidSignatureException');
  });
});

// --- Requests signed by @smithy/signature-v4 ---------------------------------
describe('@smithy/signature-v4 requests verify', () => {
  const signingDate = new Date(NOW - 30_000);
  async function smithy(o: { applyChecksum: boolean; key: VerifierCredential; path?: string; body?: string }): Promise<ReceivedRequest> {
    const body = o.body ?? '{"inputs":"héllo"}';
    const signer = new SignatureV4({
      service: 'sagemaker',
      region: 'us-east-1',
      credentials: { accessKeyId: o.key.accessKeyId, secretAccessKey: o.key.secretAccessKey, sessionToken: o.key.sessionToken },
      sha256: Sha256,
      applyChecksum: o.applyChecksum,
    });
    const path = o.path ?? '/endpoints/demo/invocations';
    const signed = await signer.sign(
      {
        method: 'POST',
        protocol: 'https:',
        hostname: 'runtime.sagemaker.us-east-1.amazonaws.com',
        path,
        query: {},
        headers: {
          host: 'runtime.sagemaker.us-east-1.amazonaws.com',
          'content-type': 'application/json',
          'x-amzn-sagemaker-custom-attributes': 'a=1,  b=2',
          'content-length': String(Buffer.byteLength(body)),
        },
        body,
      },
      { signingDate },
    );
    return {
      method: 'POST',
      url: path,
      rawHeaders: Object.entries(signed.headers).flat(),
      bodySha256: sha(Buffer.from(body)),
    };
  }

  for (const applyChecksum of [true, false]) {
    for (const key of [KEY, TEMP]) {
      test(`applyChecksum=${applyChecksum}, ${key.sessionToken ? 'session' : 'long-term'} credentials`, async () => {
        const req = await smithy({ applyChecksum, key });
        assert.equal(req.rawHeaders.includes('x-amz-content-sha256'), applyChecksum);
        assert.equal(codeOf(verifySigV4(req, OPTS)), 'ok');
        assert.equal(codeOf(verifySigV4({ ...req, bodySha256: sha('other') }, OPTS)), 'InvalidSignatureException');
        assert.equal(codeOf(verifySigV4(setHeader(req, 'x-amzn-sagemaker-custom-attributes', 'a=1'), OPTS)), 'InvalidSignatureException');
      });
    }
  }

  test('percent-encoded label: SigV4 double-encodes the wire path', async () => {
    // Not a valid endpoint name, but the signature layer must still agree with the SDK.
    const req = await smithy({ applyChecksum: false, key: KEY, path: '/endpoints/a%20b/invocations' });
    assert.equal(codeOf(verifySigV4(req, OPTS)), 'ok');
  });
});

describe('canonicalisation helpers', () => {
  test('canonicalUri normalises dot segments and double-encodes', () => {
    assert.equal(canonicalUri('/endpoints/demo/invocations'), '/endpoints/demo/invocations');
    assert.equal(canonicalUri('/a/./b/../c//d/'), '/a/c/d/');
    assert.equal(canonicalUri('/endpoints/a%20b/invocations'), '/endpoints/a%2520b/invocations');
    assert.equal(canonicalUri('/'), '/');
    assert.equal(canonicalUri("/x!'()*"), '/x%21%27%28%29%2A');
  });

  test('canonicalHeaders trims, collapses and joins duplicates in arrival order', () => {
    const raw = ['Host', 'h', 'X-A', '  a   b ', 'x-a', 'c', 'X-Other', 'ignored'];
    assert.equal(canonicalHeaders(raw, ['host', 'x-a']), 'host:h\nx-a:a b,c\n');
  });

  test('parseAuthorization tolerates spacing', () => {
    const p = parseAuthorization('AWS4-HMAC-SHA256 Credential=K/20260101/r/s/aws4_request,SignedHeaders=host;x-amz-date,Signature=ab');
    assert.ok(typeof p !== 'string');
    assert.deepEqual(p.signedHeaders, ['host', 'x-amz-date']);
    assert.equal(p.scopeRegion, 'r');
  });
});
