// The streaming exchange (InvokeEndpointWithResponseStream): one request whose 2xx answer's body
// is handed to a sink chunk by chunk as undici's parser delivers it, stamped with its arrival time,
// instead of being buffered. A non-2xx answer (an error before the stream began) is buffered as in
// transport.ts. Same pools, proxies and TLS as every other request (transport.ts routes it); the
// caller's signal ends it (core/stream-invoke.ts keeps the first-byte, idle and whole-stream timers).
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { ProxyRoute } from './proxy.js';
import { MAX_RESPONSE_BYTES, proxyError, toHeaders, tooLarge, toTransportError, type Route } from './transport.js';
import { TransportError, type BodySink, type HttpRequestSpec, type HttpResponse, type SendOptions, type StreamControl } from '../wire.js';

/** undici's handler for one streamed exchange (the classic callbacks, as transport.ts explains). */
class StreamExchange implements Dispatcher.DispatchHandler {
  #abort: ((err?: Error) => void) | undefined;
  #reason: TransportError | undefined;
  #status = 0;
  #headers: IncomingHttpHeaders | undefined;
  #sink: BodySink | undefined;
  #chunks: Buffer[] = [];
  #size = 0;
  settled = false;
  onSettle: (() => void) | undefined;

  constructor(
    readonly route: ProxyRoute | undefined,
    readonly open: (status: number, headers: IncomingHttpHeaders) => BodySink,
    readonly resolve: (res: HttpResponse) => void,
    readonly reject: (err: Error) => void,
  ) {}

  onConnect(abort: (err?: Error) => void): void {
    if (this.#reason !== undefined) abort(this.#reason);
    else this.#abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], _resume: () => void, _statusText: string): boolean {
    if (this.settled) return true;
    if (statusCode < 200) return true;
    if (statusCode === 407 && this.route !== undefined) {
      this.fail(proxyError(this.route, 407));
      return false;
    }
    this.#status = statusCode;
    const headers = toHeaders(rawHeaders);
    this.#headers = headers;
    if (statusCode >= 300) {
      const cl = headers['content-length'];
      if (cl !== undefined && Number(cl) > MAX_RESPONSE_BYTES) {
        this.fail(tooLarge());
        return false;
      }
      return true;
    }
    try {
      this.#sink = this.open(statusCode, headers);
    } catch (err) {
      this.fail(asTransportError(err));
      return false;
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.settled) return true;
    const sink = this.#sink;
    if (sink !== undefined) {
      try {
        sink.chunk(chunk, performance.now());
      } catch (err) {
        this.fail(asTransportError(err));
        return false;
      }
      return true;
    }
    this.#size += chunk.length;
    if (this.#size > MAX_RESPONSE_BYTES) {
      this.fail(tooLarge());
      return false;
    }
    this.#chunks.push(chunk);
    return true;
  }

  onComplete(_trailers: string[] | null): void {
    if (this.settled) return;
    const chunks = this.#chunks;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.#size);
    this.#chunks = [];
    this.#settle();
    const res: HttpResponse = { status: this.#status, headers: this.#headers ?? (Object.create(null) as IncomingHttpHeaders), body };
    // (As in transport.ts: after undici has freed the connection, so the next request can reuse it.)
    queueMicrotask(() => setImmediate(this.resolve, res));
  }

  onError(err: Error): void {
    if (this.settled) return;
    this.#settle();
    this.reject(toTransportError(err, this.route));
  }

  /** Settles with `err` now and closes the connection: a half-read stream is never reused. */
  fail(err: TransportError): void {
    if (this.settled) return;
    this.#settle();
    this.#reason = err;
    this.#chunks = [];
    this.#abort?.(err);
    this.reject(err);
  }

  #settle(): void {
    this.settled = true;
    this.onSettle?.();
  }
}

function asTransportError(err: unknown): TransportError {
  return err instanceof TransportError ? err : new TransportError(String((err as Error)?.message ?? err), 'NetworkError');
}

/** Sends `req` on `route`; the 2xx answer's body goes to the sink `open` returns. */
export function streamExchange(
  route: Route,
  req: HttpRequestSpec,
  options: SendOptions,
  open: (status: number, headers: IncomingHttpHeaders) => BodySink,
  control: StreamControl,
): Promise<HttpResponse> {
  return new Promise<HttpResponse>((resolve, reject) => {
    const { signal } = options;
    if (signal?.aborted) {
      reject(new TransportError('request aborted', 'AbortError'));
      return;
    }
    const ex = new StreamExchange(route.proxy, open, resolve, reject);
    control.stop = (err) => ex.fail(err);
    if (signal) {
      const onAbort = (): void => ex.fail(new TransportError('request aborted', 'AbortError'));
      signal.addEventListener('abort', onAbort, { once: true });
      ex.onSettle = () => signal.removeEventListener('abort', onAbort);
    }
    route.dispatcher.dispatch(
      {
        origin: route.origin,
        method: req.method as Dispatcher.HttpMethod,
        path: req.path,
        headers: req.headers,
        body: req.body,
        idempotent: false,
        blocking: true,
      },
      ex,
    );
  });
}
