// Test client for the emulator: signs with @smithy/signature-v4 (the project's
// runtime signer) and sends with node:http, returning status, headers, body.
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';

export const EXAMPLE_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
export const EXAMPLE_SECRET = 'wJalrXUtnfEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SendOptions {
  endpoint?: string;
  /** Raw path override (default /endpoints/{endpoint}/invocations). */
  path?: string;
  method?: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  credentials?: Credentials;
  region?: string;
  service?: string;
  signingDate?: Date;
  /** Let the signer add x-amz-content-sha256 (default true, as the JS SDK does). */
  applyChecksum?: boolean;
  /** Skip signing entirely. */
  unsigned?: boolean;
  /** Edit the signed headers before sending (tampering). */
  tamper?: (headers: Record<string, string>) => void;
  /** Body actually sent, when it should differ from the signed one. */
  sendBody?: string | Buffer;
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  /** Parsed JSON body when it is JSON, else undefined. */
  json: any;
}

export async function signRequest(port: number, o: SendOptions = {}): Promise<{ path: string; headers: Record<string, string>; body: Buffer }> {
  const body = Buffer.isBuffer(o.body) ? o.body : Buffer.from(o.body ?? '{}');
  const path = o.path ?? `/endpoints/${o.endpoint ?? 'demo'}/invocations`;
  const headers: Record<string, string> = {
    host: `127.0.0.1:${port}`,
    'content-type': 'application/json',
    ...o.headers,
  };
  if (o.unsigned) return { path, headers, body };
  const signer = new SignatureV4({
    service: o.service ?? 'sagemaker',
    region: o.region ?? 'us-east-1',
    credentials: o.credentials ?? { accessKeyId: EXAMPLE_KEY_ID, secretAccessKey: EXAMPLE_SECRET },
    sha256: Sha256,
    applyChecksum: o.applyChecksum ?? true,
  });
  const q = path.indexOf('?');
  const query = q === -1 ? {} : Object.fromEntries(new URLSearchParams(path.slice(q + 1)));
  const signed = await signer.sign(
    { method: o.method ?? 'POST', protocol: 'http:', hostname: '127.0.0.1', port, path: q === -1 ? path : path.slice(0, q), query, headers, body },
    o.signingDate ? { signingDate: o.signingDate } : {},
  );
  return { path, headers: signed.headers as Record<string, string>, body };
}

export function rawSend(port: number, method: string, path: string, headers: Record<string, string>, body: Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        const text = buf.toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: buf, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Signs (unless told not to) and sends one InvokeEndpoint request. */
export async function send(port: number, o: SendOptions = {}): Promise<Reply> {
  const signed = await signRequest(port, o);
  o.tamper?.(signed.headers);
  const sendBody = o.sendBody === undefined ? signed.body : Buffer.isBuffer(o.sendBody) ? o.sendBody : Buffer.from(o.sendBody);
  return rawSend(port, o.method ?? 'POST', signed.path, signed.headers, sendBody);
}

/** Unsigned JSON call to an admin route. */
export async function admin(port: number, method: string, path: string, body?: unknown): Promise<Reply> {
  const buf = Buffer.from(body === undefined ? '' : JSON.stringify(body));
  return rawSend(port, method, path, { 'content-type': 'application/json' }, buf);
}

export interface OpenRequest {
  reply: Promise<Reply>;
  /** Abandons the request (the client "gives up"). */
  destroy(): void;
}

/** Signs and sends, but hands back a handle so the test can abandon the request. */
export async function open(port: number, o: SendOptions = {}): Promise<OpenRequest> {
  const signed = await signRequest(port, o);
  let destroy = (): void => {};
  const reply = new Promise<Reply>((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method: o.method ?? 'POST', path: signed.path, headers: signed.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString(), json: undefined });
        });
      },
    );
    req.on('error', reject);
    destroy = () => req.destroy();
    req.end(signed.body);
  });
  reply.catch(() => {}); // abandoned requests reject; tests that care await it
  return { reply, destroy: () => destroy() };
}

/** Polls a condition (no timing assertion: it only waits, up to 5 s). */
export async function until(cond: () => boolean | Promise<boolean>, what = 'condition'): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
