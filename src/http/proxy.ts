// Pure: which proxy, if any, a request goes through — HTTPS_PROXY / HTTP_PROXY / NO_PROXY as the
// AWS CLI reads them — and how a proxy URL is shown without its credentials. No I/O.
//
// - https endpoints use https_proxy, else HTTPS_PROXY; http endpoints http_proxy, else HTTP_PROXY
//   (the lower-case name wins when both are set, and an empty value means no proxy, as in Python's
//   urllib, which botocore uses). A proxy URL without a scheme gets http://; http:// and https://
//   proxies are supported; the port defaults to the scheme's (80, 443).
// - NO_PROXY / no_proxy (lower-case wins): entries separated by commas or blanks, matched against
//   the endpoint's host as written in the URL (no DNS), case-insensitively:
//     `*`                  every host goes direct
//     `example.com`        example.com and every subdomain of it (so does `.example.com` and `*.example.com`)
//     `example.com:8443`   the same hosts, on that port only
//     `10.1.2.3`, `::1`, `[::1]`   that IP address (written in any form Node accepts)
//     `10.0.0.0/8`, `fd00::/8`     any address in that network (as requests does; botocore does not)
// - Credentials in the proxy URL (user:pass@) become a Basic Proxy-Authorization header; they are
//   never shown: `display` is the URL with `***` for them.
import { BlockList, isIP } from 'node:net';
import { redactKnown, rememberSecret as rememberRunSecret } from '../secrets.js';

export interface ProxyRoute {
  /** The proxy URL as given (with a scheme added), credentials included: for the dispatcher only. */
  url: URL;
  /** The URL to show: scheme, `***@` when it has credentials, host and port. */
  display: string;
  /** host:port of the proxy, as socket errors name it. */
  address: string;
  hasCredentials: boolean;
  /** `Basic ...` when the URL has credentials. */
  authorization: string | undefined;
  /** Which variable it came from, e.g. HTTPS_PROXY. */
  source: string;
}

export interface NoProxyEntry {
  /** Lower case, without brackets or leading dots; '' for a network entry. */
  host: string;
  port: number | undefined;
  network?: BlockList;
}

export interface ProxySettings {
  http: ProxyRoute | undefined;
  https: ProxyRoute | undefined;
  /** true: NO_PROXY=* */
  noProxyAll: boolean;
  noProxy: NoProxyEntry[];
  /** The NO_PROXY text, for --debug. */
  noProxyText: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** A problem with a proxy variable: the caller turns it into a usage error. */
export class ProxyConfigError extends Error {}

/** Lower-case variable first (an empty one means "none"), then the upper-case one. */
function pick(env: Env, lower: string, upper: string): { value: string; source: string } | undefined {
  if (env[lower] !== undefined) return env[lower] === '' ? undefined : { value: env[lower]!, source: lower };
  if (env[upper] !== undefined && env[upper] !== '') return { value: env[upper]!, source: upper };
  return undefined;
}

export function readProxySettings(env: Env): ProxySettings | undefined {
  const https = pick(env, 'https_proxy', 'HTTPS_PROXY');
  const http = pick(env, 'http_proxy', 'HTTP_PROXY');
  if (https === undefined && http === undefined) return undefined;
  const noProxyText = pick(env, 'no_proxy', 'NO_PROXY')?.value ?? '';
  const entries = noProxyText.split(/[\s,]+/).filter((e) => e !== '');
  return {
    https: https && parseProxyUrl(https.value, https.source),
    http: http && parseProxyUrl(http.value, http.source),
    noProxyAll: entries.includes('*'),
    noProxy: entries.filter((e) => e !== '*').map(parseNoProxyEntry),
    noProxyText,
  };
}

export function parseProxyUrl(text: string, source: string): ProxyRoute {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  // Whatever the parse gives, the user info is a secret from here on (a space or a `/` in the
  // password makes the URL fail to parse, and the message must not show it).
  const userinfo = userinfoOf(withScheme);
  if (userinfo !== undefined) rememberSecret(userinfo, userinfo.slice(userinfo.indexOf(':') + 1));
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ProxyConfigError(`${source} is not a proxy URL: ${JSON.stringify(redactSecrets(withoutUserinfo(text)))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ProxyConfigError(`${source} must be an http:// or https:// proxy URL, got ${url.protocol}// (${redactUrl(url)})`);
  }
  if (url.hostname === '') throw new ProxyConfigError(`${source} names no proxy host: ${redactUrl(url)}`);
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const hasCredentials = url.username !== '' || url.password !== '';
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  const route: ProxyRoute = {
    url,
    display: redactUrl(url),
    address: `${url.hostname.replace(/^\[(.*)\]$/, '$1')}:${port}`,
    hasCredentials,
    authorization: hasCredentials ? `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` : undefined,
    source,
  };
  if (hasCredentials) rememberSecret(url.password, pass, route.authorization!.slice(6));
  return route;
}

/** What comes between `scheme://` and the last `@` of a URL's text (as WHATWG URL splits it), if anything. */
function userinfoOf(text: string): string | undefined {
  const start = text.indexOf('://') + 3;
  const at = text.lastIndexOf('@');
  return at >= start ? text.slice(start, at) : undefined;
}

/** A URL's text with its user info, if any, written as `***`, parsed or not. */
export function withoutUserinfo(text: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text)?.[0] ?? '';
  const at = text.lastIndexOf('@');
  return at >= scheme.length ? `${scheme}***${text.slice(at)}` : text;
}

/** scheme://***@host:port (no path: a proxy URL's path means nothing). */
export function redactUrl(url: URL): string {
  const creds = url.username !== '' || url.password !== '' ? '***@' : '';
  return `${url.protocol}//${creds}${url.host}`;
}

function parseNoProxyEntry(text: string): NoProxyEntry {
  let t = text.trim().toLowerCase();
  const slash = t.indexOf('/');
  if (slash !== -1) {
    const ip = t.slice(0, slash).replace(/^\[(.*)\]$/, '$1');
    const bits = Number(t.slice(slash + 1));
    const family = isIP(ip);
    if (family !== 0 && Number.isInteger(bits) && bits >= 0 && bits <= (family === 4 ? 32 : 128)) {
      const network = new BlockList();
      network.addSubnet(ip, bits, family === 4 ? 'ipv4' : 'ipv6');
      return { host: '', port: undefined, network };
    }
  }
  let port: number | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (bracketed) {
    t = bracketed[1]!;
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (isIP(t) !== 6) {
    const m = /^(.*):(\d+)$/.exec(t);
    if (m) {
      t = m[1]!;
      port = Number(m[2]);
    }
  }
  return { host: t.replace(/^\*?\.+/, ''), port };
}

function sameIp(a: string, b: string): boolean {
  const fa = isIP(a);
  if (fa === 0 || fa !== isIP(b)) return false;
  const list = new BlockList();
  list.addAddress(a, fa === 4 ? 'ipv4' : 'ipv6');
  return list.check(b, fa === 4 ? 'ipv4' : 'ipv6');
}

/** True when NO_PROXY sends this host (as written in the endpoint URL, no brackets) direct. */
export function bypassesProxy(settings: Pick<ProxySettings, 'noProxy' | 'noProxyAll'>, hostname: string, port: number): boolean {
  if (settings.noProxyAll) return true;
  const host = hostname
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
  const family = isIP(host);
  for (const e of settings.noProxy) {
    if (e.port !== undefined && e.port !== port) continue;
    if (e.network !== undefined) {
      if (family !== 0 && e.network.check(host, family === 4 ? 'ipv4' : 'ipv6')) return true;
      continue;
    }
    if (e.host === '') continue;
    if (host === e.host) return true;
    if (family !== 0) {
      if (sameIp(host, e.host)) return true;
      continue;
    }
    if (host.endsWith(`.${e.host}`)) return true;
  }
  return false;
}

/** The proxy a request to protocol//hostname:port goes through, or undefined for a direct connection. */
export function proxyFor(settings: ProxySettings, protocol: 'http:' | 'https:', hostname: string, port: number): ProxyRoute | undefined {
  const route = protocol === 'https:' ? settings.https : settings.http;
  if (route === undefined) return undefined;
  return bypassesProxy(settings, hostname, port) ? undefined : route;
}

/** Every proxy password seen, in the forms it may appear in a message (as typed, decoded, in the Basic token). */
const secrets = new Set<string>();

function rememberSecret(...values: string[]): void {
  for (const v of values) {
    if (v.length >= 3) secrets.add(v);
    rememberRunSecret(v);
  }
}

/** A message with userinfo of any URL, and any proxy password or Basic token, replaced by ***. */
export function redactSecrets(text: string): string {
  let out = text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1***@');
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join('***');
  return redactKnown(out);
}
