// The only network code: sends one signed request over keep-alive HTTP/1.1 connections (undici's
// Pool and ProxyAgent), with a whole-attempt timeout, a connect timeout and a signal.
//
// Why undici's low-level `dispatch` with our own handler object, not its `request()` nor `fetch`:
// it is the cheapest in CPU per request of the three against nginx (`node scripts/bench-http.mjs`;
// the figures are in docs/benchmarks.md). The handler below gets the raw
// response head and body chunks straight from undici's llhttp parser and buffers at most
// MAX_RESPONSE_BYTES. It uses undici's classic handler callbacks (onConnect / onHeaders / onData /
// onComplete / onError): in 7.x the Client calls exactly these, while a handler written with the
// newer onRequestStart / onResponse* callbacks is wrapped in an adapter that also builds a header
// object we would build again (Node's rules: duplicates joined, set-cookie an array).
//
// What undici gives that the tool relies on: llhttp in strict mode (conflicting Content-Length,
// Content-Length with Transfer-Encoding, obs-fold, invalid header names, NUL or bare CR in values
// are parse errors, HPE_*, and the connection is destroyed); bytes on an idle connection destroy
// it; `Keep-Alive: timeout=N` hints; 1xx interim answers skipped (except 100 Continue, which undici
// treats as a broken answer since no Expect: 100-continue was sent); TLS with SNI and a session
// cache; CONNECT tunnels and forwarding through an HTTP(S) proxy with Proxy-Authorization.
import type { IncomingHttpHeaders } from 'node:http';
import v8 from 'node:v8';
import type { Dispatcher } from 'undici';
import Pool from 'undici/lib/dispatcher/pool.js';
import ProxyAgent from 'undici/lib/dispatcher/proxy-agent.js';
import { headerNameToString } from 'undici/lib/core/util.js';
import DispatcherClass from 'undici/lib/dispatcher/dispatcher.js';
import apiConnect from 'undici/lib/api/api-connect.js';
import { MAX_BODY_BYTES } from '../constants.js';
import { proxyFor, redactSecrets, type ProxyRoute, type ProxySettings } from './proxy.js';
import { TransportError, type BodyBudget, type HttpRequestSpec, type HttpResponse, type Send, type SendOptions, type SendStream } from '../wire.js';
import { streamExchange } from './stream-transport.js';

export { TransportError, type HttpResponse, type Send, type SendOptions };

// undici's index attaches its promise API to Dispatcher.prototype; ProxyAgent's tunnel needs
// `connect` from it (CONNECT to the proxy), and only that is attached here.
const dispatcherProto = DispatcherClass.prototype as unknown as { connect?: unknown };
dispatcherProto.connect ??= apiConnect;

// undici parses answers with llhttp compiled to WebAssembly, compiled when the first connection is
// made. Node 20's V8 compiles it with TurboFan as well as Liftoff, which costs tens of MB of RSS and
// of ms of CPU in every run (docs/benchmarks.md). Liftoff's code parses
// a 200-byte answer as fast as it matters, and llhttp is the only WebAssembly in the process. V8
// reads this flag when it compiles a module, so setting it here, before any connection, is enough.
v8.setFlagsFromString('--liftoff-only');

/** TLS trust for every https connection (the endpoint's, and a tunnel's inner TLS). */
export interface TlsSettings {
  /** PEM certificates that replace Node's default roots (AWS_CA_BUNDLE & co); undefined = Node's defaults. */
  ca?: string[] | undefined;
  /** false with --no-verify-ssl. */
  rejectUnauthorized: boolean;
}

export interface TransportOptions {
  proxy?: ProxySettings | undefined;
  tls?: TlsSettings | undefined;
}

export interface Transport {
  send: Send;
  /** The same connections for a streamed answer (stream-transport.ts). */
  sendStream: SendStream;
  close(): void;
}

/** Responses beyond the API's 6 MiB are not InvokeEndpoint answers; don't buffer without limit. */
export const MAX_RESPONSE_BYTES = MAX_BODY_BYTES + 1024 * 1024;
/** Response status line and headers, as Node's default --max-http-header-size. */
export const MAX_HEAD_BYTES = 16 * 1024;
/**
 * Idle keep-alive sockets are closed after this long, or after the server's `Keep-Alive: timeout=N`
 * minus 1 s when that is shorter: an idle socket kept longer may be reused after the server has
 * closed it (the next request then fails with a socket error).
 */
const FREE_SOCKET_TIMEOUT_MS = 15_000;
const KEEP_ALIVE_THRESHOLD_MS = 1_000;
/**
 * An answer with a Content-Length of at least this many bytes is copied into one buffer of that
 * size as it arrives: one copy of a large answer, not its chunks and then their join (a smaller
 * answer usually comes in one chunk, which is kept as it is).
 */
const ONE_BUFFER_BYTES = 64 * 1024;

/** Node keeps the first of these when a response repeats them (IncomingMessage._addHeaderLine). */
const SINGLE_HEADERS = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/** undici's raw header list (name, value, name, value...) -> Node's IncomingHttpHeaders. */
export function toHeaders(raw: Buffer[]): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = Object.create(null) as IncomingHttpHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = headerNameToString(raw[i]!);
    let value = raw[i + 1]!.toString('latin1');
    // llhttp drops the blanks before a value but keeps those after it; they are not part of it (RFC 9112 5).
    const last = value.charCodeAt(value.length - 1);
    if (last === 32 || last === 9) value = value.replace(/[ \t]+$/, '');
    const prev = headers[name];
    if (prev === undefined) headers[name] = name === 'set-cookie' ? [value] : value;
    else if (name === 'set-cookie') (prev as string[]).push(value);
    else if (!SINGLE_HEADERS.has(name)) headers[name] = `${prev as string}, ${value}`;
  }
  return headers;
}

/** One request from send() to settlement: undici's handler for it. */
class Exchange implements Dispatcher.DispatchHandler {
  #abort: ((err?: Error) => void) | undefined;
  #reason: TransportError | undefined;
  #status = 0;
  #headers: IncomingHttpHeaders | undefined;
  #chunks: Buffer[] = [];
  #size = 0;
  /** The answer's own buffer, when its Content-Length is ONE_BUFFER_BYTES or more. */
  #body: Buffer | undefined;
  /** Bytes counted in the budget; a Content-Length waiting for room; each chunk counted (no Content-Length). */
  #counted = 0;
  #want: number | undefined;
  #perChunk = false;
  #resume: (() => void) | undefined;
  settled = false;
  timer: NodeJS.Timeout | undefined;
  timeoutMs = 0;
  #deadline = 0;
  /** The attempt's time left while reading waits for room (that wait is not the endpoint's). */
  #left = 0;

  constructor(
    readonly signal: AbortSignal | undefined,
    readonly route: ProxyRoute | undefined,
    readonly resolve: (res: HttpResponse) => void,
    readonly reject: (err: Error) => void,
    readonly budget: BodyBudget | undefined,
    readonly line: number,
  ) {}

  /** The whole-attempt timer, `ms` from now. */
  arm(ms: number): void {
    this.#deadline = performance.now() + ms;
    this.timer = setTimeout(() => this.fail(new TransportError(`no complete response within ${this.timeoutMs} ms`, 'TimeoutError')), ms);
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.#reason !== undefined)
      abort(this.#reason); // timed out or aborted while connecting
    else this.#abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, _statusText: string): boolean {
    // Settled already: either fail() aborted the request (nothing more comes), or undici's forwarding
    // proxy wrapper reported a 407 through onError and lets the answer run on: read it to its end
    // (returning false would pause the connection for good).
    if (this.settled) return true;
    if (statusCode < 200) return true; // 103 Early Hints and the like: the answer follows
    if (statusCode === 407 && this.route !== undefined) {
      // Only a proxy answers 407 (forwarded plain-http requests come back this way).
      this.fail(proxyError(this.route, 407));
      return false;
    }
    this.#status = statusCode;
    const headers = toHeaders(rawHeaders);
    this.#headers = headers;
    const cl = headers['content-length'];
    const length = cl === undefined ? -1 : Number(cl);
    if (length > MAX_RESPONSE_BYTES) {
      this.fail(tooLarge());
      return false;
    }
    if (this.budget === undefined) {
      if (length >= ONE_BUFFER_BYTES) this.#body = Buffer.allocUnsafe(length);
      return true;
    }
    this.#resume = resume;
    if (length < 0) {
      this.#perChunk = true;
      return true;
    }
    if (!this.budget.room(this.line, length)) {
      this.#want = length;
      this.#pause();
      return false;
    }
    this.#take(length);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.settled) return true;
    const body = this.#body;
    if (body !== undefined) {
      // (llhttp frames the body by its Content-Length: more never comes.)
      if (this.#size + chunk.length > body.length) {
        this.fail(new TransportError('response body longer than its Content-Length', 'HPE_PARSE_ERROR'));
        return false;
      }
      chunk.copy(body, this.#size);
      this.#size += chunk.length;
      return true;
    }
    this.#size += chunk.length;
    if (this.#size > MAX_RESPONSE_BYTES) {
      this.fail(tooLarge());
      return false;
    }
    this.#chunks.push(chunk);
    if (this.#perChunk) {
      this.#counted += chunk.length;
      this.budget!.add(chunk.length);
      if (!this.budget!.room(this.line, 0)) {
        this.#pause();
        return false;
      }
    }
    return true;
  }

  onComplete(_trailers: string[] | null): void {
    if (this.settled) return;
    const chunks = this.#chunks;
    const body = this.#body !== undefined ? this.#body.subarray(0, this.#size) : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.#size);
    this.#chunks = [];
    this.#body = undefined;
    settle(this);
    const res: HttpResponse = { status: this.#status, headers: this.#headers ?? (Object.create(null) as IncomingHttpHeaders), body };
    // With one request per connection undici frees the connection in a setImmediate() queued after this
    // callback returns (it waits a loop turn in case the server closes it after all). Resolving after
    // that lets a request sent straight after this answer reuse the connection; resolving now would
    // make the pool open another one (two connections for strictly sequential requests).
    // The budget gets the answer's bytes back then: from there on its result counts in the ordered map.
    queueMicrotask(() => setImmediate(deliver, this, res));
  }

  onError(err: Error): void {
    if (this.settled) return;
    settle(this);
    this.giveBack();
    this.reject(toTransportError(err, this.route));
  }

  /** Counts `n` bytes of the answer in the budget, and gives it its buffer. */
  #take(n: number): void {
    this.#counted += n;
    this.budget!.add(n);
    if (n >= ONE_BUFFER_BYTES) this.#body = Buffer.allocUnsafe(n);
  }

  /** Reading stopped for room: the attempt's timer stops too, and the budget says when to try again. */
  #pause(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.#left = Math.max(1, this.#deadline - performance.now());
    }
    this.budget!.wait(() => this.#retry());
  }

  #retry(): void {
    if (this.settled) return;
    const want = this.#want;
    if (!this.budget!.room(this.line, want ?? 0)) {
      this.budget!.wait(() => this.#retry());
      return;
    }
    if (want !== undefined) {
      this.#want = undefined;
      this.#take(want);
    }
    if (this.#left > 0) {
      this.arm(this.#left);
      this.#left = 0;
    }
    this.#resume!();
  }

  /** The answer's bytes go back to the budget (it is settled: delivered, failed or dropped). */
  giveBack(): void {
    if (this.#counted === 0) return;
    this.budget!.add(-this.#counted);
    this.#counted = 0;
  }

  /** Settles with `err` now, and closes the connection the request is on (or will be on). */
  fail(err: TransportError): void {
    if (this.settled) return;
    settle(this);
    this.#reason = err;
    this.#chunks = [];
    this.#body = undefined;
    this.giveBack();
    // Aborting a request that is on a connection destroys that connection: a half-read answer is never reused.
    this.#abort?.(err);
    this.reject(err);
  }
}

function deliver(ex: Exchange, res: HttpResponse): void {
  ex.giveBack();
  ex.resolve(res);
}

export function tooLarge(): TransportError {
  return new TransportError(`response body exceeds ${MAX_RESPONSE_BYTES} bytes`, 'ResponseTooLarge');
}

export function proxyError(route: ProxyRoute, status: number): TransportError {
  // 401 to a CONNECT: some proxies (tinyproxy) answer wrong credentials so; only the proxy answers a CONNECT.
  if (status === 407 || status === 401) {
    return new TransportError(
      `proxy ${route.display} wants authentication (${status === 407 ? '407 Proxy Authentication Required' : '401 Unauthorized'})${
        route.hasCredentials ? ': it refused the credentials in the proxy URL' : ': put user:password@ in the proxy URL'
      }`,
      'ProxyAuthRequired',
    );
  }
  if (status === 403) return new TransportError(`proxy ${route.display} refused the tunnel (403 Forbidden)`, 'ProxyRefused');
  return new TransportError(`proxy ${route.display} could not open the tunnel (status ${status})`, 'ProxyTunnelFailed');
}

const PROXY_STATUS = /^Proxy response \((\d{3})\) !== 200 when HTTP Tunneling$/;
/** Errors raised while talking to the proxy itself, before the endpoint is reached. */
const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/** Whatever undici, Node or the proxy raised -> a TransportError whose code the retry rules know. */
export function toTransportError(err: Error, route: ProxyRoute | undefined): TransportError {
  if (err instanceof TransportError) return err;
  const e = err as NodeJS.ErrnoException & { code?: string };
  let code = typeof e.code === 'string' && e.code !== '' ? e.code : 'NetworkError';
  let message = err.message;
  if (route !== undefined) {
    const m = PROXY_STATUS.exec(message);
    if (m) return proxyError(route, Number(m[1]));
    if (code === 'UND_ERR_INVALID_ARG' && /\(407\)/.test(message)) return proxyError(route, 407);
    // A socket error that names the proxy's own address happened on the way to the proxy.
    if (CONNECT_CODES.has(code) && (message.includes(route.address) || isProxyConnect(e, route))) {
      return new TransportError(`cannot connect to proxy ${route.display}: ${code}: ${redactSecrets(message)}`, 'ProxyUnreachable');
    }
    message = redactSecrets(message);
  }
  // undici 7.30 builds HTTPParserError's code from llhttp's error *number* looked up in a name->number
  // table, so `code` comes out undefined: every llhttp rejection gets one code of ours.
  if (err.name === 'HTTPParserError' && code === 'NetworkError') code = 'HPE_PARSE_ERROR';
  // A trusted certificate for other names: say which names it has (Node lists only the IPs for an IP host).
  const names = (err as { cert?: { subjectaltname?: string } }).cert?.subjectaltname;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' && typeof names === 'string') message += ` (the certificate's names: ${names})`;
  if (code === 'UND_ERR_HEADERS_OVERFLOW') code = 'HPE_HEADER_OVERFLOW';
  if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') return tooLarge();
  return new TransportError(message, code);
}

function isProxyConnect(e: NodeJS.ErrnoException & { address?: string; port?: number; hostname?: string }, route: ProxyRoute): boolean {
  if (e.address !== undefined && `${e.address}:${e.port}` === route.address) return true;
  // DNS errors name the host only (getaddrinfo ENOTFOUND proxy.corp).
  return e.hostname !== undefined && e.hostname === route.url.hostname;
}

/** Every exchange waiting on a signal, so that each signal gets one listener, not one per request. */
const bySignal = new WeakMap<AbortSignal, Set<Exchange>>();

function watch(ex: Exchange, signal: AbortSignal): void {
  let set = bySignal.get(signal);
  if (set === undefined) {
    const created = new Set<Exchange>();
    set = created;
    bySignal.set(signal, created);
    signal.addEventListener(
      'abort',
      () => {
        for (const e of [...created]) e.fail(new TransportError('request aborted', 'AbortError'));
      },
      { once: true },
    );
  }
  set.add(ex);
}

function settle(ex: Exchange): void {
  ex.settled = true;
  if (ex.timer) clearTimeout(ex.timer);
  if (ex.signal) bySignal.get(ex.signal)?.delete(ex);
}

/** One origin's way out: a direct Pool, or a ProxyAgent for the proxy that NO_PROXY did not exclude. */
export interface Route {
  dispatcher: Dispatcher;
  origin: string;
  proxy: ProxyRoute | undefined;
}

export function createTransport(maxSockets: number, options: TransportOptions = {}): Transport {
  const routes = new Map<string, Route>();
  const dispatchers: Dispatcher[] = [];
  const proxyAgents = new Map<string, ProxyAgent>();
  let closed = false;
  const tls = options.tls;
  const tlsOptions = {
    ...(tls?.ca !== undefined ? { ca: tls.ca } : {}),
    ...(tls !== undefined && !tls.rejectUnauthorized ? { rejectUnauthorized: false } : {}),
  };
  const poolOptions = (connectTimeoutMs: number): Pool.Options => ({
    connections: maxSockets,
    pipelining: 1,
    keepAliveTimeout: FREE_SOCKET_TIMEOUT_MS,
    keepAliveMaxTimeout: FREE_SOCKET_TIMEOUT_MS,
    keepAliveTimeoutThreshold: KEEP_ALIVE_THRESHOLD_MS,
    // The whole-attempt timer below covers these; undici's own defaults (300 s) must not cut in first.
    headersTimeout: 0,
    bodyTimeout: 0,
    maxHeaderSize: MAX_HEAD_BYTES,
    maxResponseSize: MAX_RESPONSE_BYTES,
    connect: { timeout: connectTimeoutMs, keepAlive: true, keepAliveInitialDelay: 1000, ...tlsOptions },
  });

  const routeFor = (req: HttpRequestSpec, connectTimeoutMs: number): Route => {
    const secure = req.protocol === 'https:';
    const port = req.port ?? (secure ? 443 : 80);
    // IPv6 literals go back into brackets for the origin.
    const host = req.hostname.includes(':') ? `[${req.hostname}]` : req.hostname;
    const origin = `${req.protocol}//${host}:${port}`;
    const key = `${origin}|${connectTimeoutMs}`;
    let route = routes.get(key);
    if (route !== undefined) return route;
    const proxy = options.proxy ? proxyFor(options.proxy, req.protocol, req.hostname, port) : undefined;
    let dispatcher: Dispatcher;
    if (proxy === undefined) {
      dispatcher = new Pool(origin, poolOptions(connectTimeoutMs));
      dispatchers.push(dispatcher);
    } else {
      const agentKey = `${proxy.url.href}|${connectTimeoutMs}`;
      let agent = proxyAgents.get(agentKey);
      if (agent === undefined) {
        const po = poolOptions(connectTimeoutMs);
        agent = new ProxyAgent({
          uri: proxy.url.href,
          // Plain-http endpoints are forwarded (absolute-form request line), https ones tunnelled with
          // CONNECT: what the AWS CLI (urllib3) does.
          proxyTunnel: false,
          ...po,
          // Pools per endpoint origin (and the forwarding pool to the proxy) with our limits.
          factory: (o: string | URL, opts: object) => new Pool(o, { ...po, ...opts, connections: maxSockets }),
          proxyTls: { timeout: connectTimeoutMs, ...tlsOptions },
          requestTls: { timeout: connectTimeoutMs, ...tlsOptions },
        } as ProxyAgent.Options);
        proxyAgents.set(agentKey, agent);
        dispatchers.push(agent);
      }
      dispatcher = agent;
    }
    route = { dispatcher, origin, proxy };
    routes.set(key, route);
    return route;
  };

  const send: Send = (req, sendOptions) =>
    new Promise<HttpResponse>((resolve, reject) => {
      const { signal } = sendOptions;
      if (signal?.aborted || closed) {
        reject(new TransportError(closed ? 'transport closed' : 'request aborted', 'AbortError'));
        return;
      }
      const route = routeFor(req, sendOptions.connectTimeoutMs);
      const ex = new Exchange(signal, route.proxy, resolve, reject, sendOptions.budget, sendOptions.line ?? Number.NaN);
      if (sendOptions.timeoutMs > 0) {
        ex.timeoutMs = sendOptions.timeoutMs;
        ex.arm(sendOptions.timeoutMs);
      }
      if (signal) watch(ex, signal);
      route.dispatcher.dispatch(
        {
          origin: route.origin,
          method: req.method as Dispatcher.HttpMethod,
          path: req.path,
          headers: req.headers,
          body: req.body,
          // POST is not idempotent: never replayed by undici on another connection.
          idempotent: false,
          blocking: true,
        },
        ex,
      );
    });

  return {
    send,
    sendStream: (req, o, open, control) =>
      closed ? Promise.reject(new TransportError('transport closed', 'AbortError')) : streamExchange(routeFor(req, o.connectTimeoutMs), req, o, open, control),
    close() {
      closed = true;
      for (const d of dispatchers) d.destroy().catch(() => undefined);
      dispatchers.length = 0;
      routes.clear();
      proxyAgents.clear();
    },
  };
}
