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
  const region = wrongRegion(e);
  if (region !== undefined) return region;
  if (/Signature|Token|Client/.test(e.code)) return 'check the AWS access key and secret (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or --profile)';
  if (e.code === 'UnknownOperationException') return `check --endpoint-url: ${target.host} does not serve InvokeEndpoint at this path`;
  if (e.code.startsWith('Proxy')) return 'check the proxy URL in HTTPS_PROXY / HTTP_PROXY (user:password@ for credentials) and NO_PROXY';
  if (e.code === 'ERR_TLS_CERT_ALTNAME_INVALID') return nameMismatch(e, target);
  if (e.code === 'CERT_HAS_EXPIRED' || e.code === 'CERT_NOT_YET_VALID')
    return `the certificate of ${target.host} is ${e.code === 'CERT_HAS_EXPIRED' ? 'expired' : 'not valid yet'}: check the server's certificate and this machine's clock`;
  if (e.status === undefined)
    return `the certificate of ${target.host} is not trusted: give its CA with --ca-bundle FILE or AWS_CA_BUNDLE (or NODE_EXTRA_CA_CERTS), or skip the check with --no-verify-ssl`;
  return 'see the message above';
}

/**
 * A signature refused because its credential scope names another region ("Credential should be
 * scoped to a valid region, not 'eu-west-1'", "... scoped to correct region"): the region is wrong,
 * not the key.
 */
function wrongRegion(e: RecordError): string | undefined {
  if (!/Signature|Client/.test(e.code) || !/scoped to (?:a valid|the correct|correct) region|region .* is wrong|wrong region/i.test(e.message))
    return undefined;
  const named = /not '([a-z0-9-]+)'/i.exec(e.message)?.[1];
  const used = named !== undefined ? `the request was signed for ${named}, ` : '';
  return `${used}which is not this endpoint's region: check the region (--region, AWS_REGION / AWS_DEFAULT_REGION, the profile's region) and --endpoint-url`;
}

/** A trusted certificate for another name: Node's message names the names it holds ("... is not in the cert's altnames: DNS:a, IP:b"). */
function nameMismatch(e: RecordError, target: Target): string {
  const names =
    /\(the certificate's names: ([^)]*)\)/.exec(e.message)?.[1] ??
    /(?:altnames|cert's list): (.*)$/.exec(e.message)?.[1] ??
    /cert's CN: (\S+)/.exec(e.message)?.[1];
  const has = names !== undefined ? `; the certificate is for ${names}` : '';
  return (
    `the certificate of ${target.host} is trusted but its names do not match ${target.hostname}${has}: ` +
    "use a URL with one of the certificate's names (--endpoint-url), or a certificate that names this host"
  );
}
