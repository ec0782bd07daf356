// Pure: removes credentials from text a service sent back. AWS's signature errors quote the request:
// InvalidSignatureException / SignatureDoesNotMatch carry the canonical request (the session token is
// one of its signed headers, `x-amz-security-token:...`) and the string to sign; IncompleteSignature
// messages repeat the Authorization header (key id and signature). Every such message goes through
// here before it reaches a result line or stderr (service-error.ts).

import { redactKnown } from '../secrets.js';

export const REDACTED = '<redacted>';

/** The session token's value, any signature, and all but the first 4 characters of an access key id. */
export function redactSecrets(text: string): string {
  return redactKnown(
    text
      // `x-amz-security-token:TOKEN` (canonical request), `X-Amz-Security-Token=TOKEN` (query), `"x-amz-security-token": "TOKEN"`.
      .replace(/(x-amz-security-token["']?\s*[:=]\s*["']?)[^\s"'&,;]+/gi, `$1${REDACTED}`)
      // `Signature=hex` (Authorization header), `X-Amz-Signature=hex` (query).
      .replace(/((?:x-amz-)?signature["']?\s*[:=]\s*["']?)[0-9a-f]{16,}/gi, `$1${REDACTED}`)
      // `Credential=AKIAIOSFODNN7EXAMPLE/...`, `X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F...`.
      .replace(/((?:x-amz-)?credential["']?\s*[:=]\s*["']?)([A-Z0-9]{4})[A-Z0-9]+/gi, '$1$2****'),
  );
}
