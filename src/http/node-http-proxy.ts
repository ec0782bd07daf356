// Plain-http requests made with node:http inside this process — the credential chain's container
// credentials (@aws-sdk/credential-provider-http's fromHttp, @smithy/credential-provider-imds's
// fromContainerMetadata) and instance metadata (IMDS) — sent through HTTP_PROXY unless NO_PROXY
// names the host, as the tool's own requests are.
//
// Why on http.Agent.prototype and not a replaced http.globalAgent: fromHttp builds its handler
// with a new http.Agent of its own (NodeHttpHandler.create({ connectionTimeout })) and takes no
// agent or handler from its caller, so a global agent would route IMDS and fromContainerMetadata
// but not fromHttp, which the chain tries first. Node 20 has no process-wide proxy setting for
// node:http (that came with Node 24's NODE_USE_ENV_PROXY). So every http.Agent's addRequest, the
// one step all of them take, is wrapped: a request bound for a proxied host (through an http://
// proxy) gets the
// absolute-form request line (`GET http://host:port/path`), a Proxy-Authorization header when the
// proxy URL has credentials, and a connection to the proxy instead of the host. Only plain http
// is handled (https requests via node:https, which the chain makes only to a loopback container
// endpoint, go direct). Nothing is changed unless a run has HTTP_PROXY / http_proxy set.
import http from 'node:http';
import { proxyFor, type ProxySettings } from './proxy.js';

type AddRequest = (req: http.ClientRequest, options: Record<string, unknown>, ...rest: unknown[]) => void;
const proto = http.Agent.prototype as unknown as { addRequest: AddRequest };
let original: AddRequest | undefined;

/** Routes node:http plain-http requests by `settings`; returns a function that undoes it. */
export function routeNodeHttpThroughProxy(settings: ProxySettings): () => void {
  if (settings.http === undefined) return () => undefined;
  const base = original ?? proto.addRequest;
  original = base;
  proto.addRequest = function addRequest(this: http.Agent, req, options, ...rest) {
    const o = options as { protocol?: string; host?: string; hostname?: string; port?: number | string };
    const secure = (o.protocol ?? (this as unknown as { protocol?: string }).protocol) === 'https:';
    // The header is written at req.end(), after this: it can still change (never once sent).
    const headerSent = (req as unknown as { _header?: string | null })._header;
    if (!secure && !headerSent) {
      const hostname = String(o.hostname ?? o.host ?? 'localhost').replace(/^\[(.*)\]$/, '$1');
      const port = Number(o.port ?? 80);
      const route = proxyFor(settings, 'http:', hostname, port);
      if (route !== undefined && route.url.protocol === 'http:') {
        const host = hostname.includes(':') ? `[${hostname}]` : hostname;
        req.path = `http://${host}${port === 80 ? '' : `:${port}`}${req.path}`;
        if (route.authorization !== undefined) req.setHeader('proxy-authorization', route.authorization);
        const proxyPort = Number(route.url.port || 80);
        const proxyHost = route.url.hostname.replace(/^\[(.*)\]$/, '$1');
        return base.call(this, req, { ...options, host: proxyHost, hostname: proxyHost, port: proxyPort, servername: undefined }, ...rest);
      }
    }
    return base.call(this, req, options, ...rest);
  };
  return () => {
    proto.addRequest = base;
  };
}
