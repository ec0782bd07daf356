// --debug: what each attempt sent and got, with every secret redacted. Pure formatting.
import type { AttemptInfo } from '../core/pipeline.js';
import type { HttpRequestSpec } from '../wire.js';

const REDACTED = '<redacted>';

/** Header values safe to print: the signature, session token and any credential are removed. */
export function redactHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    const key = k.toLowerCase();
    if (key === 'authorization') out[k] = redactAuthorization(v);
    else if (key === 'x-amz-security-token' || key.includes('secret') || key.includes('credential')) out[k] = REDACTED;
    else out[k] = v;
  }
  return out;
}

/** Keeps the scope and signed header list, drops the signature and all but 4 chars of the key id. */
export function redactAuthorization(v: string): string {
  return v.replace(/Credential=([A-Z0-9]{4})[A-Z0-9]*\//, 'Credential=$1****/').replace(/Signature=[0-9a-f]+/, `Signature=${REDACTED}`);
}

/**
 * The SigV4 canonical request of a signed request, rebuilt from what goes on the wire (headers named in
 * SignedHeaders, lower-cased, trimmed, sorted), with the token's value redacted.
 */
export function canonicalRequest(req: HttpRequestSpec): string {
  const auth = req.headers.authorization ?? req.headers.Authorization ?? '';
  const signed = /SignedHeaders=([^,\s]+)/.exec(auth)?.[1]?.split(';') ?? [];
  const lower = new Map(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const lines = signed.map((name) => {
    const value = name === 'x-amz-security-token' ? REDACTED : (lower.get(name) ?? '').trim().replace(/\s+/g, ' ');
    return `${name}:${value}`;
  });
  return [req.method, req.path, '', ...lines, '', signed.join(';'), lower.get('x-amz-content-sha256') ?? 'UNSIGNED-PAYLOAD'].join('\n');
}

/** One attempt, as --debug prints it on stderr. */
export function formatAttempt(a: AttemptInfo): string {
  const r = a.request;
  const url = `${r.protocol}//${r.headers.host ?? r.hostname}${r.path}`;
  const indent = (text: string) =>
    text
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n');
  const outcome = a.error ? `${a.status ?? 'no response'} ${a.error.code}: ${a.error.message.split('\n')[0]}` : `${a.status}`;
  return [
    `sm-invoke: debug: line ${a.line} attempt ${a.attempt}: ${r.method} ${url} (${r.body.length} bytes)`,
    '  canonical request:',
    indent(canonicalRequest(r)),
    `  headers: ${JSON.stringify(redactHeaders(r.headers))}`,
    `  -> ${outcome} in ${a.latencyMs} ms; ${a.decision}`,
    '',
  ].join('\n');
}
