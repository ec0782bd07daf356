// The AWS SDK's HTTP handler interface (smithy's HttpHandler) over this tool's transport, so that the
// credential chain's own service calls — STS (assume role, web identity) and SSO — use the same
// proxy and CA settings as InvokeEndpoint. Handed to fromNodeProviderChain as
// `clientConfig.requestHandler`.
import type { HttpRequest as SdkRequest, HttpResponse as SdkResponse, QueryParameterBag } from '@smithy/types';
import type { Readable } from 'node:stream';
import type { HttpRequestSpec } from '../wire.js';
import type { Send } from './transport.js';

export interface SdkHandlerOptions {
  connectTimeoutMs: number;
  /** Whole attempt when the SDK gives no requestTimeout; 0 = none. */
  timeoutMs: number;
}

/** RFC 3986 escaping, as smithy's querystring builder does (also !'()*). */
const rfc3986 = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function queryString(query: QueryParameterBag | undefined): string {
  if (query === undefined) return '';
  const parts: string[] = [];
  for (const key of Object.keys(query).sort()) {
    const value = query[key];
    if (value === null || value === undefined) parts.push(rfc3986(key));
    else if (Array.isArray(value)) for (const v of value) parts.push(`${rfc3986(key)}=${rfc3986(v)}`);
    else parts.push(`${rfc3986(key)}=${rfc3986(value)}`);
  }
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

async function bodyBytes(body: unknown): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body);
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  const chunks: Buffer[] = [];
  for await (const chunk of body as Readable) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

export function createSdkRequestHandler(send: Send, options: SdkHandlerOptions) {
  return {
    metadata: { handlerProtocol: 'http/1.1' },
    async handle(request: SdkRequest, handlerOptions?: { abortSignal?: AbortSignal; requestTimeout?: number }): Promise<{ response: SdkResponse }> {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(request.headers)) headers[k.toLowerCase()] = v;
      const body = await bodyBytes(request.body);
      if (body.length > 0 || request.method !== 'GET') headers['content-length'] = String(body.length);
      const spec: HttpRequestSpec = {
        method: request.method,
        protocol: request.protocol === 'http:' ? 'http:' : 'https:',
        hostname: request.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: request.port,
        path: `${request.path}${queryString(request.query)}`,
        headers,
        body,
      };
      const res = await send(spec, {
        signal: handlerOptions?.abortSignal,
        timeoutMs: handlerOptions?.requestTimeout ?? options.timeoutMs,
        connectTimeoutMs: options.connectTimeoutMs,
      });
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
      // A Uint8Array body is what the SDK's body collector takes as is.
      return { response: { statusCode: res.status, headers: out, body: new Uint8Array(res.body.buffer, res.body.byteOffset, res.body.byteLength) } };
    },
    updateHttpClientConfig(): void {},
    httpHandlerConfigs(): Record<string, never> {
      return {};
    },
    destroy(): void {},
  };
}
