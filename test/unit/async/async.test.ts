// The pure parts of --async: how a record's input travels (check.ts), its deadline, the request
// (request.ts), the journal's entries (journal.ts), a failure object read as an error (poll.ts), and
// where S3 requests go (aws/s3-config.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkAsyncRecord, deadlineOf } from '../../../src/core/async/check.js';
import { decodeEntry, encodeEntry, newRunName } from '../../../src/core/async/journal.js';
import { failureError } from '../../../src/core/async/poll.js';
import { buildAsyncRequest } from '../../../src/core/async/request.js';
import { parseTarget } from '../../../src/core/request.js';
import { parseS3Uri, resolveS3Settings } from '../../../src/aws/s3-config.js';

const rec = (body: string | Buffer, fields: Record<string, string> = {}) => ({
  line: 7,
  fields: { endpointName: 'ep', ...fields },
  body: Buffer.isBuffer(body) ? body : Buffer.from(body),
});

describe('checkAsyncRecord: inline, upload or inputLocation', () => {
  const table: [string, ReturnType<typeof rec>, { inputMode: 'inline' | 's3' | 'auto'; inputPrefix: string | undefined }, string][] = [
    ['small, auto', rec('x'), { inputMode: 'auto', inputPrefix: undefined }, 'inline'],
    ['128,000 bytes fits', rec(Buffer.alloc(128_000, 97)), { inputMode: 'auto', inputPrefix: undefined }, 'inline'],
    ['128,001 bytes, auto with a prefix', rec(Buffer.alloc(128_001, 97)), { inputMode: 'auto', inputPrefix: 's3://b/p/' }, 'upload'],
    ['128,001 bytes, auto without a prefix', rec(Buffer.alloc(128_001, 97)), { inputMode: 'auto', inputPrefix: undefined }, 'InvalidRecord:body'],
    ['128,001 bytes, inline', rec(Buffer.alloc(128_001, 97)), { inputMode: 'inline', inputPrefix: undefined }, 'InvalidRecord:body'],
    ['s3 mode', rec('x'), { inputMode: 's3', inputPrefix: 's3://b/p/' }, 'upload'],
    ['inputLocation', rec('', { inputLocation: 's3://b/k' }), { inputMode: 'auto', inputPrefix: undefined }, 'location'],
    ['inputLocation and a body', rec('x', { inputLocation: 's3://b/k' }), { inputMode: 'auto', inputPrefix: undefined }, 'InvalidRecord:inputLocation'],
    ['an empty body', rec(''), { inputMode: 'auto', inputPrefix: undefined }, 'InvalidRecord:body'],
    ['targetVariant', rec('x', { targetVariant: 'v' }), { inputMode: 'auto', inputPrefix: undefined }, 'InvalidRecord:targetVariant'],
    ['sessionId', rec('x', { sessionId: 'NEW_SESSION' }), { inputMode: 'auto', inputPrefix: undefined }, 'InvalidRecord:sessionId'],
  ];
  for (const [name, r, opts, want] of table) {
    test(name, () => {
      const got = checkAsyncRecord(r, opts);
      assert.equal('code' in got ? `${got.code}:${got.field}` : got.kind, want);
    });
  }
  test('the deadline: RequestTTLSeconds + InvocationTimeoutSeconds, the service defaults when absent', () => {
    assert.equal(deadlineOf({}), (21_600 + 900) * 1000);
    assert.equal(deadlineOf({ requestTTLSeconds: '60', invocationTimeoutSeconds: '5' }), 65_000);
  });
});

test('buildAsyncRequest: the path, X-Amzn-SageMaker-Content-Type/-Accept, the async headers, {line} in Filename', () => {
  const r = buildAsyncRequest(
    rec('{}', {
      contentType: 'application/json',
      accept: 'text/csv',
      customAttributes: 'a=1',
      inferenceId: 'id-1',
      requestTTLSeconds: '600',
      invocationTimeoutSeconds: '30',
      s3OutputPathExtension: 'x/y',
      filename: 'out-{line}.json',
    }),
    parseTarget('https://runtime.sagemaker.us-east-1.amazonaws.com'),
  );
  assert.equal(r.method, 'POST');
  assert.equal(r.path, '/endpoints/ep/async-invocations');
  assert.deepEqual(Object.fromEntries(Object.entries(r.headers).filter(([k]) => k !== 'user-agent')), {
    host: 'runtime.sagemaker.us-east-1.amazonaws.com',
    'content-length': '2',
    'x-amzn-sagemaker-content-type': 'application/json',
    'x-amzn-sagemaker-accept': 'text/csv',
    'x-amzn-sagemaker-custom-attributes': 'a=1',
    'x-amzn-sagemaker-inference-id': 'id-1',
    'x-amzn-sagemaker-requestttlseconds': '600',
    'x-amzn-sagemaker-invocationtimeoutseconds': '30',
    'x-amzn-sagemaker-s3outputpathextension': 'x/y',
    'x-amzn-sagemaker-filename': 'out-7.json',
  });
});

describe('the journal', () => {
  test('entries round-trip; a torn line and other text are not entries', () => {
    const e = { line: 3, state: 'submitted' as const, inferenceId: 'i', output: 's3://b/o', failure: 's3://b/f', at: 1, deadline: 2 };
    assert.deepEqual(decodeEntry(encodeEntry(e).trimEnd()), e);
    assert.deepEqual(decodeEntry('{"line":4,"state":"done"}'), { line: 4, state: 'done' });
    assert.equal(decodeEntry('{"line":4,"state":"subm'), undefined);
    assert.equal(decodeEntry('{"line":"4","state":"done"}'), undefined);
    assert.equal(decodeEntry('{"line":4,"state":"submitted"}'), undefined, 'a submitted entry needs its output location');
    assert.deepEqual(decodeEntry('{"journal":"sm-invoke async","version":1,"run":"r"}'), { journal: 'sm-invoke async', version: 1, run: 'r' });
  });
  test('run names: start time and 6 hex digits', () => {
    assert.equal(
      newRunName(Date.UTC(2026, 11, 2, 18, 30, 12, 345), () => 0.5),
      '20261202T183012Z-800000',
    );
  });
});

test('failureError: the failure object as the record error', () => {
  assert.deepEqual(failureError(Buffer.from('{"ErrorCode":"ModelError","Message":"boom"}')), { code: 'ModelError', message: 'boom' });
  assert.deepEqual(failureError(Buffer.from('{"message":"m"}')), { code: 'AsyncInferenceFailure', message: 'm' });
  assert.deepEqual(failureError(Buffer.from('Received client error (400) from primary\n')), {
    code: 'AsyncInferenceFailure',
    message: 'Received client error (400) from primary',
  });
  assert.deepEqual(failureError(Buffer.alloc(0)), { code: 'AsyncInferenceFailure', message: 'the failure object is empty' });
  assert.equal(failureError(Buffer.alloc(10_000, 120)).message.length, 4097);
});

describe('S3 settings', () => {
  const base = { endpointUrl: undefined, pathStyle: false, profileName: 'default', profile: {}, configFile: {} };
  test('the endpoint: flag, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, services section, profile', () => {
    assert.equal(resolveS3Settings({ ...base, endpointUrl: 'http://f' }, { AWS_ENDPOINT_URL_S3: 'http://e' }).endpointUrl, 'http://f');
    assert.equal(resolveS3Settings(base, { AWS_ENDPOINT_URL_S3: 'http://e', AWS_ENDPOINT_URL: 'http://g' }).endpointUrl, 'http://e');
    assert.equal(resolveS3Settings(base, { AWS_ENDPOINT_URL: 'http://g' }).endpointUrl, 'http://g');
    const svc = resolveS3Settings(
      { ...base, profile: { services: 'loc', endpoint_url: 'http://p' }, configFile: { 'services.loc': { 's3.endpoint_url': 'http://s' } } },
      {},
    );
    assert.deepEqual([svc.endpointUrl, svc.endpointSource], ['http://s', 'services loc (s3.endpoint_url)']);
    assert.equal(resolveS3Settings({ ...base, profile: { endpoint_url: 'http://p' } }, {}).endpointUrl, 'http://p');
    assert.equal(resolveS3Settings(base, { AWS_ENDPOINT_URL_S3: 'http://e', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' }).endpointUrl, undefined);
    assert.throws(() => resolveS3Settings(base, { AWS_ENDPOINT_URL_S3: 'ftp://x' }), /is not an http\(s\) URL/);
  });
  test("path style: the flag, or the profile's s3 addressing_style", () => {
    assert.equal(resolveS3Settings(base, {}).forcePathStyle, false);
    assert.equal(resolveS3Settings({ ...base, pathStyle: true }, {}).forcePathStyle, true);
    assert.equal(resolveS3Settings({ ...base, profile: { 's3.addressing_style': 'path' } }, {}).forcePathStyle, true);
    assert.equal(resolveS3Settings({ ...base, profile: { 's3.addressing_style': 'virtual' } }, {}).forcePathStyle, false);
    assert.throws(() => resolveS3Settings({ ...base, profile: { 's3.addressing_style': 'sideways' } }, {}), /addressing_style must be auto, path or virtual/);
  });
  test('s3 URIs', () => {
    assert.deepEqual(parseS3Uri('s3://b/k/x'), { bucket: 'b', key: 'k/x' });
    assert.deepEqual(parseS3Uri('s3://b'), { bucket: 'b', key: '' });
    assert.equal(parseS3Uri('https://b/k'), undefined);
  });
});
