// Pure: a decoded record and the target become an unsigned InvokeEndpoint request (docs/wire.md §1).
import { FIELDS } from './fields.js';
import type { GoodRecord } from './records.js';
import { VERSION } from '../version.js';
import { toStreamRequest } from './stream-request.js';
import type { HttpRequestSpec } from '../wire.js';

export type { HttpRequestSpec };

export interface Target {
  protocol: 'https:' | 'http:';
  hostname: string;
  port: number | undefined;
  /** `host` header value: hostname, plus the port when it is not the scheme's default. */
  host: string;
  /** Base path of an endpoint override, without trailing slash ('' normally). */
  basePath: string;
}

export function parseTarget(baseUrl: string): Target {
  const url = new URL(baseUrl);
  const protocol = url.protocol === 'http:' ? 'http:' : 'https:';
  const port = url.port === '' ? undefined : Number(url.port);
  // URL keeps IPv6 brackets in hostname; node:http wants them off.
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { protocol, hostname, port, host: url.host, basePath: url.pathname.replace(/\/$/, '') };
}

const USER_AGENT = `sm-invoke/${VERSION}`;
const HEADER_FIELDS = FIELDS.filter((f) => f.header !== undefined);

export function buildRequest(rec: GoodRecord, target: Target): HttpRequestSpec {
  const headers: Record<string, string> = {
    host: target.host,
    'content-length': String(rec.body.length),
    'user-agent': USER_AGENT,
  };
  const f = rec.fields;
  for (const field of HEADER_FIELDS) {
    const value = f[field.key];
    if (value !== undefined) headers[field.header!] = value;
  }
  const spec: HttpRequestSpec = {
    method: 'POST',
    protocol: target.protocol,
    hostname: target.hostname,
    port: target.port,
    // Endpoint names are validated to [A-Za-z0-9-], which needs no escaping on the wire.
    path: `${target.basePath}/endpoints/${f.endpointName!}/invocations`,
    headers,
    body: rec.body,
  };
  return rec.stream === true ? toStreamRequest(spec) : spec;
}
