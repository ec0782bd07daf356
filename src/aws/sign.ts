// SigV4 for InvokeEndpoint: every request is signed by @smithy/signature-v4 with the signing name
// `sagemaker` (docs/wire.md §1.3). Credentials and the clock are injected; nothing here touches the network.
//
// Hashing, as measured (`npm run bench`, scenarios 1 and 4; the figures are in docs/benchmarks.md):
// - the body is hashed with node:crypto and handed to the signer as x-amz-content-sha256, which it
//   then uses instead of hashing the body itself (a pure-JS hash of a large body is 20-30x slower);
// - the signer's own SHA-256/HMACs use NodeSha256 (node:crypto behind the same Checksum interface,
//   built for how the signer uses it: one small update per hash, see the class), the cheapest of the
//   variants measured. @aws-crypto/sha256-js stays injectable (`sha256`) and is the tests' reference:
//   both give byte-identical signatures.
// One SignatureV4 instance serves the whole run; it caches the signing key per day.
import * as crypto from 'node:crypto';
import { createHash, createHmac, createSecretKey, type Hash, type Hmac, type KeyObject } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, Checksum, ChecksumConstructor, DateInput, Provider, SourceData } from '@smithy/types';
import { SIGNING_NAME } from '../constants.js';
import { rememberSecret, rememberSignature } from '../secrets.js';
import type { HttpRequestSpec } from '../wire.js';

export type CredentialProvider = Provider<AwsCredentialIdentity>;

export interface SignerInit {
  credentials: CredentialProvider;
  region: string;
  /** Hash for the signer's HMACs and canonical request; defaults to NodeSha256 (node:crypto). */
  sha256?: ChecksumConstructor;
}

/** Returns a new request carrying x-amz-date, x-amz-content-sha256, [x-amz-security-token] and authorization. */
export type Sign = (request: HttpRequestSpec, signingDate: Date) => Promise<HttpRequestSpec>;

const H_SHA256 = 'x-amz-content-sha256';

/**
 * @smithy/signature-v4, with its protected formatDate() remembered for the current second: it turns
 * the date into x-amz-date with toISOString() and two regular expressions on every request (2-3% of
 * the client's CPU against a zero-work endpoint), and a run signs hundreds of requests a second.
 */
export class SignerV4 extends SignatureV4 {
  #second = NaN;
  #formatted: { longDate: string; shortDate: string } | undefined;

  protected override formatDate(now: DateInput): { longDate: string; shortDate: string } {
    if (!(now instanceof Date)) return super.formatDate(now);
    const second = Math.floor(now.getTime() / 1000);
    if (second !== this.#second || this.#formatted === undefined) {
      this.#formatted = super.formatDate(now);
      this.#second = second;
    }
    return this.#formatted;
  }
}

export function createSigner(init: SignerInit): Sign {
  const signer = new SignerV4({
    service: SIGNING_NAME,
    region: init.region,
    credentials: checkedCredentials(init.credentials),
    sha256: init.sha256 ?? NodeSha256,
    uriEscapePath: true,
  });
  return async (request, signingDate) => {
    // Object.assign then the new key: `{ ...headers, [k]: v }` takes a slow path in V8.
    const headers: Record<string, string> = Object.assign({}, request.headers);
    headers[H_SHA256] = payloadHash(request.body);
    // No body: the signer clones what it is given, and x-amz-content-sha256 already covers the body.
    const toSign = { method: request.method, protocol: request.protocol, hostname: request.hostname, path: request.path, headers, query: {} };
    const signed = await signer.sign(toSign, { signingDate });
    // `..., Signature=<64 hex>`: a message quoting it back is redacted (secrets.ts).
    const authorization = (signed.headers as Record<string, string>).authorization;
    if (authorization !== undefined) rememberSignature(authorization.slice(-64));
    return {
      method: request.method,
      protocol: request.protocol,
      hostname: request.hostname,
      port: request.port,
      path: request.path,
      headers: signed.headers as Record<string, string>,
      body: request.body,
    };
  };
}

/**
 * Credentials whose key id or session token cannot go into an HTTP header (a newline pasted into
 * AWS_SESSION_TOKEN, say) would fail every request: the signer refuses them, which stops the run as
 * one credentials error. Checked once per credentials object (the provider memoizes it).
 */
function checkedCredentials(provider: CredentialProvider): CredentialProvider {
  let checked: AwsCredentialIdentity | undefined;
  return async () => {
    const c = await provider();
    if (c !== checked) {
      rememberSecret(c.secretAccessKey);
      rememberSecret(c.sessionToken);
      checkHeaderSafe('access key id', c.accessKeyId);
      if (c.sessionToken !== undefined) checkHeaderSafe('session token', c.sessionToken);
      checked = c;
    }
    return c;
  };
}

const NOT_HEADER_SAFE = /[^\x21-\x7e]/;

function checkHeaderSafe(what: string, value: string): void {
  const m = NOT_HEADER_SAFE.exec(value);
  if (m === null) return;
  const c = m[0].charCodeAt(0);
  const name =
    c === 10
      ? 'a newline'
      : c === 13
        ? 'a carriage return'
        : c === 32
          ? 'a space'
          : c === 9
            ? 'a tab'
            : `character U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
  throw new Error(
    `the ${what} has ${name} at position ${m.index + 1} of ${value.length}, which cannot be sent in an HTTP header (check how it was copied into the environment or the credentials file)`,
  );
}

export function payloadHash(body: Buffer): string {
  return sha256Once(body, 'hex');
}

// crypto.hash (Node >= 20.12): one native call, no Hash object, measurably cheaper than
// createHash().update().digest() on a few hundred bytes; the signer hashes three times per request.
const oneShot = (crypto as { hash?: (alg: string, data: Uint8Array, enc: string) => string | Buffer }).hash;
function sha256Once(data: Uint8Array, enc: 'hex'): string;
function sha256Once(data: Uint8Array, enc: 'buffer'): Buffer;
function sha256Once(data: Uint8Array, enc: 'hex' | 'buffer'): string | Buffer {
  if (oneShot) return oneShot('sha256', data, enc);
  const h = createHash('sha256').update(data);
  return enc === 'hex' ? h.digest('hex') : h.digest();
}

/** Chunks up to this size are kept (copied) until digest(); a larger or second chunk goes to a native object. */
const KEEP_MAX = 16 * 1024;
/** HMAC keys given as bytes, as native KeyObjects: the signer passes the same signing-key array all day. */
const keyObjects = new WeakMap<object, { key: KeyObject; bytes: Buffer }>();
/**
 * The last HMAC under a string secret. @smithy/signature-v4 computes HMAC(secretAccessKey, accessKeyId)
 * on every sign() only to build its signing-key cache key: the same inputs, so the same 32 bytes.
 */
let lastStringHmac: { secret: string; data: Buffer; digest: Buffer } | undefined;

/**
 * SHA-256, or HMAC-SHA256 when given a secret, from node:crypto, as a @smithy/types Checksum.
 * The signer creates one per hash and updates it once with a few hundred bytes, so creating a native
 * Hash/Hmac object per instance was most of its cost (four objects per request, 13% of the client's CPU
 * against a zero-work endpoint). Instead a small first chunk is kept and hashed in one call at digest();
 * a second or large chunk switches to an incremental native object, so memory stays bounded.
 */
export class NodeSha256 implements Checksum {
  readonly #secret: SourceData | undefined;
  #kept: Buffer | undefined;
  #hash: Hash | Hmac | undefined;
  #result: Buffer | undefined;

  constructor(secret?: SourceData) {
    this.#secret = secret;
  }

  update(data: Uint8Array): void {
    if (this.#result !== undefined) throw new Error('NodeSha256: update() after digest(); call reset() first');
    if (this.#hash !== undefined) {
      this.#hash.update(data);
    } else if (this.#kept === undefined && data.byteLength <= KEEP_MAX) {
      this.#kept = Buffer.from(data); // a copy: the caller may reuse its array
    } else {
      this.#hash = this.#make();
      if (this.#kept !== undefined) this.#hash.update(this.#kept);
      this.#hash.update(data);
      this.#kept = undefined;
    }
  }

  /** The digest of everything since construction or reset(); asking again gives the same bytes. */
  async digest(): Promise<Uint8Array> {
    this.#result ??= this.#compute();
    return this.#result;
  }

  reset(): void {
    this.#kept = undefined;
    this.#hash = undefined;
    this.#result = undefined;
  }

  #compute(): Buffer {
    if (this.#hash !== undefined) return this.#hash.digest();
    const data = this.#kept ?? EMPTY;
    const secret = this.#secret;
    if (secret === undefined) return sha256Once(data, 'buffer');
    if (typeof secret === 'string') {
      const last = lastStringHmac;
      if (last !== undefined && last.secret === secret && last.data.equals(data)) return Buffer.from(last.digest);
      const digest = createHmac('sha256', secret).update(data).digest();
      lastStringHmac = { secret, data, digest: Buffer.from(digest) };
      return digest;
    }
    return createHmac('sha256', keyObject(secret)).update(data).digest();
  }

  #make(): Hash | Hmac {
    const secret = this.#secret;
    if (secret === undefined) return createHash('sha256');
    return createHmac('sha256', typeof secret === 'string' ? secret : keyObject(secret));
  }
}

const EMPTY = Buffer.alloc(0);

function keyObject(secret: Exclude<SourceData, string>): KeyObject {
  const bytes = toBytes(secret);
  const cached = keyObjects.get(secret);
  // The bytes are compared too (32 of them for a signing key), in case an array is reused with new contents.
  if (cached?.bytes.equals(bytes)) return cached.key;
  const key = createSecretKey(bytes);
  keyObjects.set(secret, { key, bytes: Buffer.from(bytes) });
  return key;
}

function toBytes(data: Exclude<SourceData, string>): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}
