// The run's secrets by value: the secret access key and session token of every credentials object the
// signer used (and those in the environment), proxy passwords, and the signatures of the requests
// sent lately. Text from outside (a service or proxy message, a credential process's stderr, an
// SDK error) may quote any of them anywhere, not only after a header name: redactKnown() removes
// them from every message before it reaches stderr, a result line or stdout (escape.ts,
// result-format.ts, single.ts, redact.ts, proxy.ts). Patterns (redact.ts) still catch secrets this
// process never held, such as `x-amz-security-token:` in a quoted request.
//
// Cost (scripts/bench-redact.mjs): remembering a signature is one array store per request;
// redactKnown on a message is one includes() per secret value (a few) and, when it is 64 characters
// or longer, one loop over it for 64-hex-digit runs; on a message without secrets it returns the
// same string. It runs on messages only, never on a successful answer's body.

export const SECRET_REDACTED = '<redacted>';

/** Secret values (and their URL-encoded forms), longest first so that no part of one is left. */
let values: string[] = [];
const valueSet = new Set<string>();

/**
 * Signatures of the last SIGNATURES_KEPT requests (a message quoting one answers a recent request:
 * 2x the most requests in flight). A ring, not a Set: remembering is one store per request, and
 * only a message holding a 64-hex-digit run (rare) pays for the lookup.
 */
const SIGNATURES_KEPT = 2048;
const signatureRing: string[] = [];
/** The first 8 characters of each, as a number (hex digits are ASCII): the lookup compares these first. */
const signatureKeys = new Int32Array(SIGNATURES_KEPT);
let ringAt = 0;

/** 8 characters from `at` packed into 32 bits (4 bits each, from the char codes' low nibble and a bit of the high). */
function keyOf(text: string, at: number): number {
  let k = 0;
  for (let i = at; i < at + 8; i++) k = (k << 4) ^ text.charCodeAt(i) ^ (text.charCodeAt(i) >> 4);
  return k | 0;
}

/** Values shorter than this are not secrets worth a scan (and would redact ordinary words). */
const MIN_SECRET = 6;

export function rememberSecret(value: string | undefined): void {
  if (value === undefined || value.length < MIN_SECRET) return;
  let added = false;
  for (const v of [value, encodeURIComponent(value)]) {
    if (!valueSet.has(v)) {
      valueSet.add(v);
      added = true;
    }
  }
  if (added) values = [...valueSet].sort((a, b) => b.length - a.length);
}

/** A request's signature (64 hex digits); the oldest of SIGNATURES_KEPT is forgotten. */
export function rememberSignature(signature: string): void {
  signatureRing[ringAt] = signature;
  signatureKeys[ringAt] = keyOf(signature, 0);
  ringAt = ringAt + 1 === SIGNATURES_KEPT ? 0 : ringAt + 1;
}

function isSignature(text: string, at: number): boolean {
  const k = keyOf(text, at);
  for (let i = 0; i < signatureRing.length; i++) {
    if (signatureKeys[i] === k && text.startsWith(signatureRing[i]!, at)) return true;
  }
  return false;
}

/** The text with every remembered secret value and recent signature replaced by <redacted>. */
export function redactKnown(text: string): string {
  let out = text;
  for (const v of values) if (v.length <= out.length && out.includes(v)) out = out.split(v).join(SECRET_REDACTED);
  return signatureRing.length > 0 && out.length >= 64 ? redactSignatures(out) : out;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102);
}

/**
 * Runs of exactly 64 lower-case hex digits that are a remembered signature. Any such run covers
 * every 64th position, so only those are looked at (then the run around one): text without long
 * hex runs costs length/64 character reads.
 */
function redactSignatures(text: string): string {
  let out: string | undefined;
  let from = 0;
  let pos = 63;
  while (pos < text.length) {
    if (!isHex(text.charCodeAt(pos))) {
      pos += 64;
      continue;
    }
    let start = pos;
    while (start > 0 && isHex(text.charCodeAt(start - 1))) start--;
    let end = pos + 1;
    while (end < text.length && isHex(text.charCodeAt(end))) end++;
    if (end - start === 64 && isSignature(text, start)) {
      out = (out ?? '') + text.slice(from, start) + SECRET_REDACTED;
      from = end;
    }
    pos = end + 64;
  }
  return out === undefined ? text : out + text.slice(from);
}

/** For tests: forget everything remembered. */
export function forgetSecrets(): void {
  values = [];
  valueSet.clear();
  signatureRing.length = 0;
  signatureKeys.fill(0);
  ringAt = 0;
}
