// Independent SigV4 verifier (AWS4-HMAC-SHA256, header auth), written against
// the published algorithm with node:crypto only. It rebuilds the canonical
// request from the bytes that actually arrived, so it checks our client's
// signer rather than mirroring it.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import {
  type ApiError,
  expiredToken,
  incompleteSignature,
  invalidSignature,
  missingAuthenticationToken,
  SIGNATURE_MISMATCH_MESSAGE,
  unrecognizedClient,
} from './errors.js';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
/** Accepted clock difference between the request and the server. */
export const CLOCK_WINDOW_MS = 5 * 60 * 1000;

export interface VerifierCredential {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** Epoch ms after which the key is expired. */
  expiresAtMs?: number;
}

/** The request as received: nothing parsed or decoded. */
export interface ReceivedRequest {
  method: string;
  /** `req.url`: raw path plus optional query, exactly as sent. */
  url: string;
  /** `req.rawHeaders`: alternating names and values. */
  rawHeaders: readonly string[];
  /** Hex SHA-256 of the received body. */
  bodySha256: string;
}

export interface VerifyOptions {
  region: string;
  service: string;
  /** Server time, epoch ms. */
  now: number;
  lookup(accessKeyId: string): VerifierCredential | undefined;
  /** Optional memo of derived signing keys (key: secret/date/region/service). */
  keyCache?: Map<string, Buffer>;
}

export type VerifyResult = { ok: true; credential: VerifierCredential } | { ok: false; error: ApiError };

export interface ParsedAuthorization {
  accessKeyId: string;
  scopeDate: string;
  scopeRegion: string;
  scopeService: string;
  scopeTerminator: string;
  signedHeaders: string[];
  signature: string;
}

const fail = (error: ApiError): VerifyResult => ({ ok: false, error });

export const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** First value of a header from rawHeaders (case-insensitive name). */
function rawHeader(rawHeaders: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === lowerName) return rawHeaders[i + 1];
  }
  return undefined;
}

/**
 * Parses `AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request,
 * SignedHeaders=a;b, Signature=hex`. Returns an IncompleteSignatureException
 * message (AWS wording) on failure.
 */
export function parseAuthorization(header: string): ParsedAuthorization | string {
  const trimmed = header.trim();
  const space = trimmed.indexOf(' ');
  const algorithm = space === -1 ? trimmed : trimmed.slice(0, space);
  if (algorithm !== ALGORITHM) return `Unsupported AWS 'algorithm': '${algorithm}'`;
  const params = new Map<string, string>();
  for (const part of trimmed.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) params.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const missing = ['Credential', 'Signature', 'SignedHeaders'].filter((k) => !params.get(k)).map((k) => `Authorization header requires '${k}' parameter.`);
  if (missing.length > 0) return `${missing.join(' ')} Authorization=${header}`;
  const credential = params.get('Credential')!;
  const scope = credential.split('/');
  if (scope.length !== 5) {
    return `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${credential}'`;
  }
  const [accessKeyId, scopeDate, scopeRegion, scopeService, scopeTerminator] = scope as [string, string, string, string, string];
  return {
    accessKeyId,
    scopeDate,
    scopeRegion,
    scopeService,
    scopeTerminator,
    signedHeaders: params.get('SignedHeaders')!.split(';'),
    signature: params.get('Signature')!,
  };
}

/** RFC 3986 encoding as SigV4 wants: everything but A-Z a-z 0-9 - _ . ~ */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Canonical URI for non-S3 services: drop empty and '.' segments, resolve
 * '..', then URI-encode the (already percent-encoded) wire path once more,
 * i.e. '%' becomes '%25'. Both the JS SDK (uriEscapePath) and botocore do this.
 */
export function canonicalUri(rawPath: string): string {
  const segments: string[] = [];
  for (const seg of rawPath.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') segments.pop();
    else segments.push(seg);
  }
  const trailing = segments.length > 0 && rawPath.endsWith('/') ? '/' : '';
  return `/${segments.map(uriEncode).join('/')}${trailing}`;
}

/** Canonical query: decode each pair, re-encode, sort by name then value. */
export function canonicalQuery(rawQuery: string): string {
  if (rawQuery === '') return '';
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      return s;
    }
  };
  const pairs = rawQuery
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      const k = eq === -1 ? p : p.slice(0, eq);
      const v = eq === -1 ? '' : p.slice(eq + 1);
      return [uriEncode(decode(k)), uriEncode(decode(v))] as const;
    });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/**
 * Canonical header block for the signed header names: values of every
 * occurrence of the header, trimmed, inner whitespace runs collapsed to one
 * space, joined with ','. A signed header that did not arrive yields an empty
 * value (and so, in practice, a signature mismatch).
 */
export function canonicalHeaders(rawHeaders: readonly string[], signedHeaders: readonly string[]): string {
  const wanted = new Map<string, string[]>(signedHeaders.map((h) => [h, []]));
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const values = wanted.get(rawHeaders[i]!.toLowerCase());
    if (values) values.push(rawHeaders[i + 1]!.trim().replace(/\s+/g, ' '));
  }
  let out = '';
  for (const [name, values] of wanted) out += `${name}:${values.join(',')}\n`;
  return out;
}

export function canonicalRequest(req: Pick<ReceivedRequest, 'method' | 'url' | 'rawHeaders'>, signedHeaders: readonly string[], payloadHash: string): string {
  const q = req.url.indexOf('?');
  const path = q === -1 ? req.url : req.url.slice(0, q);
  const query = q === -1 ? '' : req.url.slice(q + 1);
  return [req.method, canonicalUri(path), canonicalQuery(query), canonicalHeaders(req.rawHeaders, signedHeaders), signedHeaders.join(';'), payloadHash].join(
    '\n',
  );
}

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = createHmac('sha256', `AWS4${secret}`).update(date).digest();
  const kRegion = createHmac('sha256', kDate).update(region).digest();
  const kService = createHmac('sha256', kRegion).update(service).digest();
  return createHmac('sha256', kService).update('aws4_request').digest();
}

const BASIC_ISO = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** Parses `YYYYMMDDTHHMMSSZ` to epoch ms (NaN when malformed). */
export function parseAmzDate(s: string): number {
  const m = BASIC_ISO.exec(s);
  if (!m) return NaN;
  const [, y, mo, d, h, mi, se] = m.map(Number) as [number, number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, se);
}

/** Epoch ms to `YYYYMMDDTHHMMSSZ`. */
export function formatAmzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** Verifies the Authorization header of one request. */
// long function: AWS's checks in the order AWS makes them, each an early return with AWS's own error
// (missing token, malformed header, scope, date window, signed headers, signature); one sequence is
// what is compared with the service's behaviour.
export function verifySigV4(req: ReceivedRequest, opts: VerifyOptions): VerifyResult {
  const authHeader = rawHeader(req.rawHeaders, 'authorization');
  if (authHeader === undefined) return fail(missingAuthenticationToken());
  const auth = parseAuthorization(authHeader);
  if (typeof auth === 'string') return fail(incompleteSignature(auth));

  // Request time: X-Amz-Date, else Date (converted to basic ISO for signing).
  const amzDate = rawHeader(req.rawHeaders, 'x-amz-date');
  let requestTime: string;
  if (amzDate !== undefined) {
    if (Number.isNaN(parseAmzDate(amzDate))) {
      return fail(incompleteSignature(`Date must be in ISO-8601 'basic format'. Got '${amzDate}'. See http://en.wikipedia.org/wiki/ISO_8601`));
    }
    requestTime = amzDate;
  } else {
    const httpDate = rawHeader(req.rawHeaders, 'date');
    const ms = httpDate === undefined ? NaN : Date.parse(httpDate);
    if (Number.isNaN(ms)) {
      return fail(incompleteSignature(`Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=${authHeader}`));
    }
    requestTime = formatAmzDate(ms);
  }

  if (auth.scopeTerminator !== 'aws4_request') {
    return fail(invalidSignature(`Credential should be scoped with a valid terminator: 'aws4_request', not '${auth.scopeTerminator}'. `));
  }
  if (auth.scopeService !== opts.service) {
    return fail(invalidSignature(`Credential should be scoped to correct service: '${opts.service}'. `));
  }
  if (auth.scopeRegion !== opts.region) {
    return fail(invalidSignature(`Credential should be scoped to a valid region, not '${auth.scopeRegion}'. `));
  }
  if (auth.scopeDate !== requestTime.slice(0, 8)) {
    return fail(
      invalidSignature(
        `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: ` +
          `'${auth.scopeDate}' != '${requestTime.slice(0, 8)}', from '${requestTime}'.`,
      ),
    );
  }
  if (!auth.signedHeaders.includes('host')) {
    return fail(invalidSignature(`'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.`));
  }

  // Clock window, with AWS's exact wording (the JS SDK greps "Signature expired").
  const t = parseAmzDate(requestTime);
  if (t < opts.now - CLOCK_WINDOW_MS) {
    return fail(
      invalidSignature(
        `Signature expired: ${requestTime} is now earlier than ${formatAmzDate(opts.now - CLOCK_WINDOW_MS)} ` + `(${formatAmzDate(opts.now)} - 5 min.)`,
      ),
    );
  }
  if (t > opts.now + CLOCK_WINDOW_MS) {
    return fail(
      invalidSignature(
        `Signature not yet current: ${requestTime} is still later than ${formatAmzDate(opts.now + CLOCK_WINDOW_MS)} ` + `(${formatAmzDate(opts.now)} + 5 min.)`,
      ),
    );
  }

  const credential = opts.lookup(auth.accessKeyId);
  if (!credential) return fail(unrecognizedClient());
  // Temporary keys need their token, sent and signed; permanent keys must not send one.
  const token = rawHeader(req.rawHeaders, 'x-amz-security-token');
  if (token !== credential.sessionToken) return fail(unrecognizedClient());
  if (token !== undefined && !auth.signedHeaders.includes('x-amz-security-token')) {
    return fail(invalidSignature(`'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.`));
  }
  if (credential.expiresAtMs !== undefined && opts.now >= credential.expiresAtMs) return fail(expiredToken());

  // Payload hash: the header when present, but it must describe the real body.
  const declared = rawHeader(req.rawHeaders, 'x-amz-content-sha256');
  if (declared !== undefined && declared !== req.bodySha256) {
    return fail(invalidSignature(`The provided 'x-amz-content-sha256' header does not match what was computed.`));
  }

  const creq = canonicalRequest(req, auth.signedHeaders, declared ?? req.bodySha256);
  const scope = `${auth.scopeDate}/${auth.scopeRegion}/${auth.scopeService}/aws4_request`;
  const stringToSign = `${ALGORITHM}\n${requestTime}\n${scope}\n${sha256Hex(creq)}`;
  const cacheKey = `${credential.secretAccessKey}/${scope}`;
  let key = opts.keyCache?.get(cacheKey);
  if (!key) {
    key = signingKey(credential.secretAccessKey, auth.scopeDate, auth.scopeRegion, auth.scopeService);
    if (opts.keyCache) {
      if (opts.keyCache.size > 1000) opts.keyCache.clear();
      opts.keyCache.set(cacheKey, key);
    }
  }
  const expected = createHmac('sha256', key).update(stringToSign).digest();
  const given = Buffer.from(auth.signature, 'hex');
  if (given.length !== expected.length || auth.signature.length !== 64 || !timingSafeEqual(given, expected)) {
    // Like AWS, show what we computed: invaluable when debugging a signer.
    return fail(
      invalidSignature(
        `${SIGNATURE_MISMATCH_MESSAGE}\n\nThe Canonical String for this request should have been\n'${creq}'\n\n` +
          `The String-to-Sign should have been\n'${stringToSign}'\n`,
      ),
    );
  }
  return { ok: true, credential };
}
