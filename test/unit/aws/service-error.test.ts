// service-error.ts: reading error responses (docs/wire.md §3) and what each failure means for a retry (§4).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RecordError } from '../../../src/errors.js';
import {
  classifyServiceError,
  classifyTransportError,
  cleanCode,
  isEndpointNotFound,
  isSignatureExpired,
  parseServiceError,
  type FailureKind,
} from '../../../src/aws/service-error.js';

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const CORAL = 'http://internal.amazon.com/coral/com.amazon.coral.service/';

describe('cleanCode: cut at ",", then ":", keep what follows "#"', () => {
  const cases: Array<[string, string]> = [
    ['ThrottlingException', 'ThrottlingException'],
    [`MissingAuthenticationTokenException:${CORAL}`, 'MissingAuthenticationTokenException'],
    ['com.amazonaws.sagemakerruntime#ModelError', 'ModelError'],
    ['com.amazonaws.sagemakerruntime#ValidationError:http://x/', 'ValidationError'],
    ['ValidationError,Other', 'ValidationError'],
    [' ServiceUnavailable ', 'ServiceUnavailable'],
  ];
  for (const [raw, want] of cases) test(JSON.stringify(raw), () => assert.equal(cleanCode(raw), want));
});

describe('parseServiceError', () => {
  test('ThrottlingException with {"message": null}: the code stands in for the message', () => {
    const e = parseServiceError(400, { 'x-amzn-errortype': `ThrottlingException:${CORAL}`, 'x-amzn-requestid': 'rid-1' }, json({ message: null }));
    assert.deepEqual(e, { code: 'ThrottlingException', message: 'ThrottlingException', status: 400, requestId: 'rid-1' });
  });

  test('ModelError: the modelled members are kept', () => {
    const body = {
      ErrorCode: 'SERVER_ERROR_FROM_MODEL',
      Message: 'Received server error (503) from primary with message "x".',
      OriginalMessage: 'x',
      OriginalStatusCode: 503,
      LogStreamArn: 'arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/e',
    };
    const e = parseServiceError(424, { 'x-amzn-errortype': 'com.amazonaws.sagemakerruntime#ModelError' }, json(body));
    assert.deepEqual(e, {
      code: 'ModelError',
      message: body.Message,
      status: 424,
      originalStatusCode: 503,
      originalMessage: 'x',
      logStreamArn: body.LogStreamArn,
    });
  });

  test("no header: the body's code (any case), then __type", () => {
    assert.equal(parseServiceError(400, {}, json({ Code: 'ValidationError', Message: 'm' })).code, 'ValidationError');
    assert.equal(parseServiceError(400, {}, json({ code: 'ValidationError' })).code, 'ValidationError');
    assert.equal(parseServiceError(400, {}, json({ __type: 'com.amazonaws.sagemakerruntime#ValidationError', message: 'm' })).code, 'ValidationError');
  });

  test('the header wins over the body', () => {
    assert.equal(parseServiceError(403, { 'x-amzn-errortype': 'UnrecognizedClientException' }, json({ __type: 'Other' })).code, 'UnrecognizedClientException');
  });

  test('message from "message", else "Message"', () => {
    assert.equal(parseServiceError(400, {}, json({ code: 'X', message: 'lower', Message: 'upper' })).message, 'lower');
    assert.equal(parseServiceError(400, {}, json({ code: 'X', Message: 'upper' })).message, 'upper');
  });

  test("a body that is not JSON (a front end's 413): the status is the code, the text the message", () => {
    const e = parseServiceError(413, {}, Buffer.from('HTTP content length exceeded 5246976 bytes.\n'));
    assert.equal(e.code, '413');
    assert.equal(e.message, 'HTTP content length exceeded 5246976 bytes.');
    assert.equal(e.status, 413);
  });

  test('an empty body: the status is the code and the message', () => {
    assert.deepEqual(parseServiceError(502, {}, Buffer.alloc(0)), { code: '502', message: '502', status: 502 });
  });

  test('a JSON array or scalar body is not an error document', () => {
    assert.equal(parseServiceError(500, {}, json(['x'])).code, '500');
    assert.equal(parseServiceError(500, {}, json('x')).code, '500');
  });

  test('request id from x-amzn-RequestId, then x-amzn-request-id, then x-amz-request-id', () => {
    assert.equal(parseServiceError(500, { 'x-amzn-request-id': 'b' }, json({})).requestId, 'b');
    assert.equal(parseServiceError(500, { 'x-amz-request-id': 'c' }, json({})).requestId, 'c');
  });
});

/** The response, as the service sends it, parsed by the real parser. */
function reply(status: number, code: string | undefined, message: string | null = 'm', extra: Record<string, unknown> = {}): RecordError {
  const headers = code === undefined ? {} : { 'x-amzn-errortype': `${code}:${CORAL}` };
  return parseServiceError(status, headers, json({ message, ...extra }));
}

describe('classifyServiceError: each answer the service gives (docs/wire.md §3.2, §3.3, §4.5)', () => {
  // [name, error, kind without --retry-model-errors, kind with it]
  const table: Array<[string, RecordError, FailureKind, FailureKind]> = [
    // Throttling: the 500 ms backoff.
    ['400 ThrottlingException, message null', reply(400, 'ThrottlingException', null), 'throttling', 'throttling'],
    ['429 ModelNotReadyException (JS SDK: any 429 is throttling)', reply(429, 'ModelNotReadyException'), 'throttling', 'throttling'],
    ['429 with no code at all', parseServiceError(429, {}, Buffer.alloc(0)), 'throttling', 'throttling'],
    ...[
      'BandwidthLimitExceeded',
      'EC2ThrottledException',
      'LimitExceededException',
      'PriorRequestNotComplete',
      'ProvisionedThroughputExceededException',
      'RequestLimitExceeded',
      'RequestThrottled',
      'RequestThrottledException',
      'SlowDown',
      'ThrottledException',
      'Throttling',
      'TooManyRequestsException',
      'TransactionInProgressException',
    ].map((c): [string, RecordError, FailureKind, FailureKind] => [`400 ${c}`, reply(400, c), 'throttling', 'throttling']),
    // Transient: the 100 ms backoff.
    ['500 InternalFailure', reply(500, 'InternalFailure'), 'transient', 'transient'],
    ['502 from a proxy, no code', parseServiceError(502, {}, Buffer.from('<html>Bad Gateway</html>')), 'transient', 'transient'],
    ['503 ServiceUnavailable', reply(503, 'ServiceUnavailable'), 'transient', 'transient'],
    ['504 from a proxy, no code', parseServiceError(504, {}, Buffer.alloc(0)), 'transient', 'transient'],
    ['530 InternalDependencyException (retried by sm-invoke, unlike the SDKs)', reply(530, 'InternalDependencyException'), 'transient', 'transient'],
    ['408 RequestTimeout', reply(408, 'RequestTimeout'), 'transient', 'transient'],
    ['400 RequestTimeoutException', reply(400, 'RequestTimeoutException'), 'transient', 'transient'],
    [
      '403 InvalidSignatureException "Signature expired"',
      reply(403, 'InvalidSignatureException', 'Signature expired: 20260801T115000Z is now earlier than 20260801T115500Z (20260801T120000Z - 5 min.)'),
      'transient',
      'transient',
    ],
    // The record's own answer.
    ['424 ModelError', reply(424, 'ModelError'), 'final', 'transient'],
    ['424 ModelError with a 5xx OriginalStatusCode', reply(424, 'ModelError', 'm', { OriginalStatusCode: 503 }), 'final', 'transient'],
    ['400 ValidationError', reply(400, 'ValidationError', 'bad TargetVariant'), 'final', 'final'],
    ['400 ValidationError: session not found', reply(400, 'ValidationError', 'Session abc not found or expired for endpoint e.'), 'final', 'final'],
    ['501 NotImplemented (other 5xx: not retried)', reply(501, 'NotImplemented'), 'final', 'final'],
    ['413 from a front end', parseServiceError(413, {}, Buffer.from('too big')), 'final', 'final'],
    ['400 unknown code', reply(400, 'SomethingNew'), 'final', 'final'],
    // Every record would get the same answer: stop the run.
    ['400 ValidationError: endpoint not found', reply(400, 'ValidationError', 'Endpoint nope of account 123456789012 not found.'), 'fatal', 'fatal'],
    ['403 UnrecognizedClientException', reply(403, 'UnrecognizedClientException'), 'fatal', 'fatal'],
    ['403 InvalidClientTokenId', reply(403, 'InvalidClientTokenId'), 'fatal', 'fatal'],
    [
      '403 InvalidSignatureException: signature mismatch',
      reply(403, 'InvalidSignatureException', 'The request signature we calculated does not match the signature you provided.'),
      'fatal',
      'fatal',
    ],
    [
      '403 InvalidSignatureException "Signature not yet current"',
      reply(403, 'InvalidSignatureException', 'Signature not yet current: 20260801T121000Z is still later than 20260801T120500Z'),
      'fatal',
      'fatal',
    ],
    ['403 ExpiredTokenException (the pipeline refreshes once first)', reply(403, 'ExpiredTokenException'), 'fatal', 'fatal'],
    ['403 MissingAuthenticationTokenException', reply(403, 'MissingAuthenticationTokenException'), 'fatal', 'fatal'],
    ['400 IncompleteSignatureException', reply(400, 'IncompleteSignatureException'), 'fatal', 'fatal'],
    ['400 AccessDeniedException', reply(400, 'AccessDeniedException'), 'fatal', 'fatal'],
    ['403 OptInRequired', reply(403, 'OptInRequired'), 'fatal', 'fatal'],
    ['404 UnknownOperationException (wrong --endpoint-url path)', reply(404, 'UnknownOperationException', null), 'fatal', 'fatal'],
  ];
  for (const [name, error, kind, withRetryModelErrors] of table) {
    test(`${name} -> ${kind}${kind === withRetryModelErrors ? '' : ` (${withRetryModelErrors} with --retry-model-errors)`}`, () => {
      assert.equal(classifyServiceError(error, false), kind);
      assert.equal(classifyServiceError(error, true), withRetryModelErrors);
    });
  }

  test("isSignatureExpired and isEndpointNotFound read AWS's wording", () => {
    assert.equal(isSignatureExpired({ code: 'InvalidSignatureException', message: 'Signature expired: 2026...' }), true);
    assert.equal(isSignatureExpired({ code: 'InvalidSignatureException', message: 'signature mismatch' }), false);
    assert.equal(isSignatureExpired({ code: 'ValidationError', message: 'Signature expired' }), false);
    assert.equal(isEndpointNotFound({ code: 'ValidationError', message: 'Endpoint my-ep of account 123456789012 not found.' }), true);
    assert.equal(isEndpointNotFound({ code: 'ValidationError', message: 'Variant v not found for endpoint my-ep.' }), false);
  });
});

describe('classifyTransportError: failures below HTTP', () => {
  const transient = [
    'ECONNRESET',
    'ECONNREFUSED',
    'EPIPE',
    'ETIMEDOUT',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'ENOTFOUND',
    'EAI_AGAIN',
    'ECONNABORTED',
    'TimeoutError',
    'ConnectTimeoutError',
    'HPE_INVALID_CONSTANT',
    'HPE_PARSE_ERROR',
    'HPE_HEADER_OVERFLOW',
    'UND_ERR_SOCKET',
    'UND_ERR_CONNECT_TIMEOUT',
    'UND_ERR_HEADERS_TIMEOUT',
    'UND_ERR_BODY_TIMEOUT',
    'UND_ERR_CLOSED',
    'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
    'ProxyUnreachable',
    'ProxyTunnelFailed',
  ];
  for (const code of transient) test(`${code} -> transient`, () => assert.equal(classifyTransportError(code), 'transient'));
  for (const code of ['ResponseTooLarge', 'NetworkError', 'ERR_INVALID_ARG_TYPE', 'UND_ERR_INVALID_ARG', 'UND_ERR_DESTROYED']) {
    test(`${code} -> final`, () => assert.equal(classifyTransportError(code), 'final'));
  }
  for (const code of [
    'CERT_HAS_EXPIRED',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'ERR_TLS_CERT_ALTNAME_INVALID',
    'ERR_SSL_WRONG_VERSION_NUMBER',
    'UND_ERR_PRX_TLS',
    'ProxyAuthRequired',
    'ProxyRefused',
  ]) {
    test(`${code} -> fatal (TLS or the proxy's refusal: every record would fail)`, () => assert.equal(classifyTransportError(code), 'fatal'));
  }
});
