// Errors that would fail every record stop the run: which ones, and what the user should check.
import { FatalError, type RecordError } from '../errors.js';
import { isEndpointNotFound } from '../aws/service-error.js';
import type { Target } from './request.js';

/** Failures to connect at all: if no record has got through yet, the service is not reachable. */
export const CONNECT_ERRORS: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ConnectTimeoutError',
  'UND_ERR_CONNECT_TIMEOUT',
  'ProxyUnreachable',
  'ProxyTunnelFailed',
]);

/** The credential chain (or the credentials it gave) cannot sign. */
export function credentialsFatal(err: unknown): FatalError {
  return new FatalError(
    `could not get AWS credentials: ${(err as Error).message}`,
    'CredentialsError',
    'check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, --profile/AWS_PROFILE and the shared credentials file',
  );
}

/** A service or transport error classified fatal. */
export function errorFatal(e: RecordError, target: Target): FatalError {
  return new FatalError(`${e.code}: ${e.message}`, e.code, fatalHint(e, target));
}

/** Nothing got through and the last failure was a connection failure: the service is unreachable. */
export function unreachableFatal(e: RecordError, target: Target, attempts: number): FatalError {
  return new FatalError(
    `cannot reach ${target.host}: ${e.code}: ${e.message} (after ${attempts} attempts)`,
    e.code,
    e.code.startsWith('Proxy') ? 'check HTTPS_PROXY / HTTP_PROXY and NO_PROXY' : 'check --endpoint-url / --region and the network',
  );
}

function fatalHint(e: RecordError, target: Target): string {
  if (isEndpointNotFound(e)) return `check the endpoint name and the region (requests go to ${target.host})`;
  if (e.code === 'AccessDeniedException') return 'the credentials lack sagemaker:InvokeEndpoint on this endpoint';
  if (/ExpiredToken/.test(e.code)) return 'the session token has expired: refresh your credentials';
  if (/Signature|Token|Client/.test(e.code)) return 'check the AWS access key and secret (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or --profile)';
  if (e.code === 'UnknownOperationException') return `check --endpoint-url: ${target.host} does not serve InvokeEndpoint at this path`;
  if (e.code.startsWith('Proxy')) return 'check the proxy URL in HTTPS_PROXY / HTTP_PROXY (user:password@ for credentials) and NO_PROXY';
  if (e.status === undefined)
    return `the certificate of ${target.host} is not trusted: give its CA with --ca-bundle FILE or AWS_CA_BUNDLE (or NODE_EXTRA_CA_CERTS), or skip the check with --no-verify-ssl`;
  return 'see the message above';
}
