// Pure: reading a SageMaker Runtime error response, and deciding what a failed attempt means
// (docs/wire.md §3 and §4: the JS SDK's code extraction and standard retry classification).
import type { IncomingHttpHeaders } from 'node:http';
import { H_ERROR_TYPE, H_REQUEST_ID } from '../constants.js';
import type { RecordError } from '../errors.js';
import { redactSecrets } from './redact.js';

/** Extracts code and message like @aws-sdk/core's loadRestJsonErrorCode, plus ModelError's members. */
export function parseServiceError(status: number, headers: IncomingHttpHeaders, body: Buffer): RecordError {
  let data: Record<string, unknown> = {};
  const text = body.toString('utf8');
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) data = parsed as Record<string, unknown>;
  } catch {
    // Not JSON (e.g. a 413 from a front end): the status becomes the code, the text the message.
  }
  const header = headers[H_ERROR_TYPE];
  let raw = typeof header === 'string' ? header : undefined;
  if (raw === undefined) {
    for (const k of Object.keys(data)) if (k.toLowerCase() === 'code' && typeof data[k] === 'string') raw = data[k] as string;
  }
  if (raw === undefined && typeof data.__type === 'string') raw = data.__type;
  const code = raw === undefined ? String(status) : cleanCode(raw);
  const m = data.message ?? data.Message;
  const message = typeof m === 'string' && m !== '' ? m : Object.keys(data).length === 0 && text.trim() !== '' ? text.trim().slice(0, 2048) : code;
  // A signature error quotes the request back, session token included.
  const e: RecordError = { code, message: redactSecrets(message), status };
  if (typeof data.OriginalStatusCode === 'number') e.originalStatusCode = data.OriginalStatusCode;
  if (typeof data.OriginalMessage === 'string') e.originalMessage = data.OriginalMessage;
  if (typeof data.LogStreamArn === 'string') e.logStreamArn = data.LogStreamArn;
  const rid = headers[H_REQUEST_ID] ?? headers['x-amzn-request-id'] ?? headers['x-amz-request-id'];
  if (typeof rid === 'string') e.requestId = rid;
  return e;
}

/** `ThrottlingException:http://...` -> `ThrottlingException`; `ns#ModelError` -> `ModelError`. */
export function cleanCode(raw: string): string {
  let c = raw.split(',')[0]!;
  c = c.split(':')[0]!;
  const hash = c.lastIndexOf('#');
  return (hash >= 0 ? c.slice(hash + 1) : c).trim();
}

export type FailureKind =
  /** Retry with the throttling backoff. */
  | 'throttling'
  /** Retry with the ordinary backoff. */
  | 'transient'
  /** Will fail every record the same way: stop the run. */
  | 'fatal'
  /** This record's final answer. */
  | 'final';

const THROTTLING_CODES = new Set([
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
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
]);
const TRANSIENT_CODES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'InternalDependencyException']);
const TRANSIENT_STATUS = new Set([500, 502, 503, 504]);
const TRANSIENT_NETWORK = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'ConnectTimeoutError',
  'TimeoutError',
  // undici: connect timeout, headers/body timeouts, a socket closed or broken mid-exchange (including a
  // 100 Continue nobody asked for), a body that does not match its Content-Length.
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  // The proxy could not be reached, or could not reach the endpoint (5xx on CONNECT): like an unreachable
  // endpoint, fatal while nothing has succeeded yet (pipeline.ts), retried after that.
  'ProxyUnreachable',
  'ProxyTunnelFailed',
]);
/** Auth and account errors: every request will get the same answer. */
const FATAL_CODES = new Set([
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'MissingAuthenticationTokenException',
  'MissingAuthenticationToken',
  'IncompleteSignature',
  'IncompleteSignatureException',
  'AccessDeniedException',
  'AccessDenied',
  'ExpiredTokenException',
  'ExpiredToken',
  'OptInRequired',
  'NotAuthorized',
  'UnknownOperationException',
]);

export function isSignatureExpired(e: RecordError): boolean {
  return e.code === 'InvalidSignatureException' && /signature expired/i.test(e.message);
}

/** `Endpoint X of account Y not found.` — the endpoint does not exist in this account and region. */
export function isEndpointNotFound(e: RecordError): boolean {
  return e.code === 'ValidationError' && /^Endpoint \S+ of account \S+ not found/.test(e.message);
}

export function classifyServiceError(e: RecordError, retryModelErrors: boolean): FailureKind {
  const status = e.status ?? 0;
  if (status === 429 || THROTTLING_CODES.has(e.code)) return 'throttling';
  if (isSignatureExpired(e)) return 'transient'; // after correcting the clock offset
  if (TRANSIENT_CODES.has(e.code) || TRANSIENT_STATUS.has(status)) return 'transient';
  if (e.code === 'ModelError') return retryModelErrors ? 'transient' : 'final';
  if (FATAL_CODES.has(e.code) || isEndpointNotFound(e)) return 'fatal';
  return 'final';
}

/** TLS failures: the certificate will be just as wrong for every record. */
const FATAL_NETWORK = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_UNTRUSTED',
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'UND_ERR_PRX_TLS',
  // The proxy wants credentials, or other ones, or refuses to tunnel to the endpoint: so it will for every record.
  'ProxyAuthRequired',
  'ProxyRefused',
]);

export function classifyTransportError(code: string): FailureKind {
  // HPE_*: llhttp rejected the response (malformed framing or headers); the connection was discarded.
  if (TRANSIENT_NETWORK.has(code) || code.startsWith('HPE_')) return 'transient';
  return FATAL_NETWORK.has(code) ? 'fatal' : 'final';
}
