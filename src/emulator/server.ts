// The SageMaker Runtime emulator: a real HTTP server on 127.0.0.1 answering
// POST /endpoints/{name}/invocations as the service would, plus unsigned
// admin routes under /_emulator/.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { handleAdmin } from './admin.js';
import { ASYNC_INVOCATIONS, type AsyncContext, AsyncService, type AsyncStats } from './async.js';
import {
  defaultConfig,
  type EmulatorConfig,
  type EmulatorConfigInput,
  type EndpointConfig,
  type FaultOptions,
  type FaultType,
  type LatencySpec,
  mergeConfig,
  type ModelName,
  type VariantConfig,
} from './config.js';
import { type ApiError, accessDenied, throttling, unknownOperation, validationError, modelError } from './errors.js';
import { type Directive, faultError, isFrontEndFault, parseDirective } from './faults.js';
import { flatHeaders, readBody, sendApiError, sleepUnlessClosed } from './http-util.js';
import { batchModelError, isBatchModel, recordCount } from './batch-models.js';
import { isLlmModel, llmLatencyMs } from './llm-models.js';
import { runModel } from './models.js';
import { mulberry32, pickWeighted, type Random } from './prng.js';
import { formatExpires, isCloseSessionBody, NEW_SESSION, type Session, SessionStore } from './sessions.js';
import { type VerifierCredential, verifySigV4 } from './sigv4-verify.js';
import { validateInvocation } from './validate.js';
import { pickStreamFault, serveStream, streamDirective, type StreamLog } from './stream.js';

export type { EmulatorConfig, EmulatorConfigInput } from './config.js';

export interface RequestLogEntry {
  /** 1-based arrival order since start or reset. */
  seq: number;
  /** Arrival time (emulator clock), ISO 8601. */
  time: string;
  method: string;
  /** Raw `req.url`, undecoded. */
  path: string;
  /** Lower-cased request headers. */
  headers: Record<string, string>;
  /** Request body; empty when it exceeded maxBodyBytes (see bodyBytes). */
  body: Buffer;
  bodyBytes: number;
  requestId: string;
  /**
   * This call's attempt: the requests of one client call so far, this one included, when the client
   * names its call (`amz-sdk-invocation-id`, as the SDKs, the AWS CLI and sm-invoke send it: so a
   * second run starts at 1 again); else, as `delivery`.
   */
  attempt: number;
  /** How many requests with this endpoint + body have arrived, this one included, across runs: what a fault's `times` counts. */
  delivery: number;
  endpoint?: string;
  variant?: string;
  accessKeyId?: string;
  /** Response status; 0 while pending, or when none was sent (reset, stall, client gone). */
  status: number;
  errorCode?: string;
  fault?: FaultType;
  /** InvokeEndpointWithResponseStream: the parts sent and when (stream.ts). */
  stream?: StreamLog;
  /** An LLM model's InvokeEndpoint answer: the prompt's tokens and those generated (llm-models.ts). */
  llm?: { promptTokens: number; completionTokens: number };
}

export interface EndpointStats {
  requests: number;
  inFlight: number;
  maxInFlight: number;
}

export interface EmulatorStats extends EndpointStats {
  byStatus: Record<string, number>;
  endpoints: Record<string, EndpointStats>;
  /** InvokeEndpointAsync: submissions, jobs queued and running, outputs and failures written. */
  async: AsyncStats;
}

export interface EmulatorOptions {
  /** Clock (epoch ms) before clockOffsetMs; defaults to Date.now. Tests pin it. */
  now?: () => number;
  /** Called once per logged request, when its response is done or abandoned. */
  onRequest?: (entry: RequestLogEntry) => void;
  /** Serve HTTPS with this certificate (PEM, chain allowed) and key instead of plain HTTP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** The log's bodies in bytes at most (default LOG_BODY_BYTES). */
  logBodyBytes?: number;
}

export interface Emulator {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Every request received (oldest entries dropped past config.logLimit). */
  readonly log: RequestLogEntry[];
  /** Invocation requests currently open (arrived, response not finished). */
  readonly inFlight: number;
  readonly maxInFlight: number;
  readonly config: EmulatorConfig;
  endpointStats(name: string): EndpointStats;
  stats(): EmulatorStats;
  /** Applies a partial config now (see mergeConfig); throws TypeError on bad input. */
  setConfig(partial: EmulatorConfigInput): void;
  /** Clears the log, counters, attempt fingerprints and sessions; reseeds the PRNG. */
  reset(): void;
  /** Stops listening and destroys every connection, stalled ones included. */
  close(): Promise<void>;
}

const SERVICE = 'sagemaker';
const INVOCATIONS = /^\/endpoints\/([^/]+)\/invocations(-response-stream)?$/;
const MAX_FINGERPRINTS = 1_000_000;
/**
 * The log's bodies in bytes at most, by default: past it, the oldest entries go until half is left.
 * (Bounded by entries only, an emulator kept running through tests of 2-6 MiB bodies grew to 13 GB.)
 */
export const LOG_BODY_BYTES = 256 * 1024 * 1024;

const latencyOf = (spec: LatencySpec, random: Random): number => (typeof spec === 'number' ? spec : spec.min + Math.round(random() * (spec.max - spec.min)));

class EmulatorServer implements Emulator {
  readonly log: RequestLogEntry[] = [];
  readonly #server: Server;
  readonly #now: () => number;
  readonly #onRequest: ((entry: RequestLogEntry) => void) | undefined;
  #config: EmulatorConfig;
  #credentials = new Map<string, VerifierCredential & { denied: boolean }>();
  readonly #keyCache = new Map<string, Buffer>();
  #random: Random;
  readonly #sessions = new SessionStore();
  readonly #attempts = new Map<string, number>();
  #seq = 0;
  #inFlight = 0;
  /** Bytes of the bodies in the log, and their bound. */
  #logBytes = 0;
  readonly #logBodyBytes: number;
  #maxInFlight = 0;
  #requests = 0;
  #byStatus: Record<string, number> = {};
  readonly #endpointStats = new Map<string, EndpointStats>();
  #epoch: number;
  readonly #scheduleEpochs = new Map<string, number>();
  readonly #async = new AsyncService(
    () => this.#asyncContext(),
    () => this.#clock(),
  );

  constructor(config: EmulatorConfig, options: EmulatorOptions) {
    this.#config = config;
    this.#now = options.now ?? Date.now;
    this.#onRequest = options.onRequest;
    this.#logBodyBytes = options.logBodyBytes ?? LOG_BODY_BYTES;
    this.#random = mulberry32(config.seed);
    this.#epoch = this.#now();
    this.#indexCredentials();
    // requestTimeout 0: a stalled request stays open until the client gives up.
    // A long keep-alive avoids racing clients that reuse idle sockets.
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      this.#handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end(`emulator bug: ${String(err)}`);
        }
      });
    };
    const serverOptions = { requestTimeout: 0, keepAliveTimeout: 60_000 };
    this.#scheme = options.tls ? 'https' : 'http';
    if (options.tls) {
      const tlsServer = createTlsServer({ ...serverOptions, cert: options.tls.cert, key: options.tls.key }, handler);
      tlsServer.on('tlsClientError', () => undefined); // a client that does not trust us: its problem
      this.#server = tlsServer;
    } else {
      this.#server = createServer(serverOptions, handler);
    }
  }

  readonly #scheme: 'http' | 'https';

  get url(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `${this.#scheme}://${host}:${this.port}`;
  }
  get host(): string {
    return this.#config.host;
  }
  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }
  get inFlight(): number {
    return this.#inFlight;
  }
  get maxInFlight(): number {
    return this.#maxInFlight;
  }
  get config(): EmulatorConfig {
    return this.#config;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#config.port, this.#config.host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    this.#async.close();
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  setConfig(partial: EmulatorConfigInput): void {
    const next = mergeConfig(this.#config, partial);
    if (partial.seed !== undefined) this.#random = mulberry32(next.seed);
    for (const [name, e] of Object.entries(partial.endpoints ?? {})) {
      if (e?.schedule !== undefined) this.#scheduleEpochs.set(name, this.#now());
    }
    this.#config = next;
    this.#indexCredentials();
  }

  reset(): void {
    this.log.length = 0;
    this.#logBytes = 0;
    this.#seq = 0;
    this.#maxInFlight = this.#inFlight;
    this.#requests = 0;
    this.#byStatus = {};
    for (const s of this.#endpointStats.values()) {
      s.requests = 0;
      s.maxInFlight = s.inFlight;
    }
    this.#attempts.clear();
    this.#sessions.clear();
    this.#random = mulberry32(this.#config.seed);
    this.#epoch = this.#now();
    this.#scheduleEpochs.clear();
  }

  endpointStats(name: string): EndpointStats {
    const s = this.#endpointStats.get(name);
    return s ? { ...s } : { requests: 0, inFlight: 0, maxInFlight: 0 };
  }

  stats(): EmulatorStats {
    const endpoints: Record<string, EndpointStats> = {};
    for (const [name, s] of this.#endpointStats) endpoints[name] = { ...s };
    return {
      requests: this.#requests,
      inFlight: this.#inFlight,
      maxInFlight: this.#maxInFlight,
      byStatus: { ...this.#byStatus },
      endpoints,
      async: this.#async.stats(),
    };
  }

  #asyncContext(): AsyncContext {
    const cfg = this.#config;
    return {
      config: cfg.async,
      region: cfg.region,
      accountId: cfg.accountId,
      endpoints: cfg.endpoints,
      defaultModel: cfg.model,
      fault: (d, ep, attempt) => this.#fault(d, ep, attempt),
      latency: (model, ep, variant, directed, body) => this.#latency(model, ep, variant, directed, body, false),
      variant: (ep) =>
        ep.variants[
          pickWeighted(
            ep.variants.map((v) => v.weight ?? 1),
            this.#random,
          )
        ]!,
    };
  }

  #indexCredentials(): void {
    this.#credentials = new Map(
      this.#config.credentials.map((c) => [
        c.accessKeyId,
        {
          accessKeyId: c.accessKeyId,
          secretAccessKey: c.secretAccessKey,
          ...(c.sessionToken !== undefined && { sessionToken: c.sessionToken }),
          ...(c.expiresAt !== undefined && { expiresAtMs: new Date(c.expiresAt).getTime() }),
          denied: c.denied === true,
        },
      ]),
    );
    this.#keyCache.clear();
  }

  /** Emulator clock: the injected clock plus the configured skew. */
  #clock(): number {
    return this.#now() + this.#config.clockOffsetMs;
  }

  #attempt(fingerprint: string): number {
    const n = (this.#attempts.get(fingerprint) ?? 0) + 1;
    this.#attempts.set(fingerprint, n);
    if (this.#attempts.size > MAX_FINGERPRINTS) {
      this.#attempts.delete(this.#attempts.keys().next().value as string);
    }
    return n;
  }

  #pushLog(entry: RequestLogEntry): void {
    const limit = this.#config.logLimit;
    if (limit === 0) return;
    if (this.log.length >= limit) this.#dropOldest(Math.max(1, Math.floor(limit / 2)));
    this.log.push(entry);
    this.#logBytes += entry.body.length;
    const max = this.#logBodyBytes;
    if (this.#logBytes > max) {
      let n = 0;
      for (let bytes = this.#logBytes; bytes > max / 2 && n < this.log.length - 1; n++) bytes -= this.log[n]!.body.length;
      this.#dropOldest(n);
    }
  }

  #dropOldest(n: number): void {
    for (const e of this.log.splice(0, n)) this.#logBytes -= e.body.length;
  }

  #maxConcurrency(name: string, ep: EndpointConfig): number | null {
    let max = ep.maxConcurrency ?? null;
    if (ep.schedule && ep.schedule.length > 0) {
      const elapsed = this.#now() - (this.#scheduleEpochs.get(name) ?? this.#epoch);
      let at = -1;
      for (const step of ep.schedule) {
        if (step.atMs <= elapsed && step.atMs >= at) {
          at = step.atMs;
          max = step.maxConcurrency;
        }
      }
    }
    return max;
  }

  /**
   * The session, variant, container, model and inference component a request names, checked against
   * the endpoint (step 2 of the order of checks): the variant to run, or the error to answer.
   */
  #target(
    endpointName: string,
    ep: EndpointConfig,
    h: Record<string, string>,
    now: number,
  ): { variant: VariantConfig; session: Session | undefined } | ApiError {
    const sessionHeader = h['x-amzn-sagemaker-session-id'];
    const session = sessionHeader && sessionHeader !== NEW_SESSION ? this.#sessions.get(sessionHeader, endpointName, now) : undefined;
    if (sessionHeader && sessionHeader !== NEW_SESSION && !session) {
      return validationError(`Session ${sessionHeader} not found or expired for endpoint ${endpointName}.`);
    }

    const targetVariant = h['x-amzn-sagemaker-target-variant'];
    let variant = ep.variants[0]!;
    if (targetVariant !== undefined) {
      const found = ep.variants.find((v) => v.name === targetVariant);
      if (!found) return validationError(`Variant ${targetVariant} not found for endpoint ${endpointName}.`);
      variant = found;
    } else if (session) {
      variant = ep.variants.find((v) => v.name === session.variant) ?? variant;
    } else {
      variant =
        ep.variants[
          pickWeighted(
            ep.variants.map((v) => v.weight ?? 1),
            this.#random,
          )
        ]!;
    }

    const container = h['x-amzn-sagemaker-target-container-hostname'];
    if (container !== undefined && !ep.containers) {
      return validationError(`Endpoint ${endpointName} is not configured for direct invocation; TargetContainerHostname is not supported.`);
    }
    if (ep.containers && container === undefined) {
      return validationError(`Endpoint ${endpointName} uses direct invocation; TargetContainerHostname must be specified.`);
    }
    if (ep.containers && container !== undefined && !ep.containers.includes(container)) {
      return validationError(`Container hostname ${container} not found for endpoint ${endpointName}.`);
    }

    const targetModel = h['x-amzn-sagemaker-target-model'];
    if (targetModel !== undefined && Array.isArray(ep.models) && !ep.models.includes(targetModel)) {
      return validationError(
        `Failed to download model data(bucket: sagemaker-emulator, key: models/${targetModel}). Please ensure that ` +
          'there is an object located at the URL and that the role passed to CreateModel has permissions to download the model.',
      );
    }

    const component = h['x-amzn-sagemaker-inference-component'];
    if (ep.inferenceComponents && component === undefined) {
      return validationError(
        'Inference Component Name header is required for endpoints to which you plan to deploy inference components. ' +
          'Please include Inference Component Name header or consider using SageMaker models.',
      );
    }
    if (component !== undefined && !ep.inferenceComponents?.includes(component)) {
      return validationError(`Inference Component ${component} not found for endpoint ${endpointName}.`);
    }
    return { variant, session };
  }

  /** Step 4: the fault a request gets, the body's directive first, else one of the random ones. */
  #fault(directive: Directive | undefined, ep: EndpointConfig, attempt: number): { fault: FaultType | undefined; faultOpts: FaultOptions } {
    let fault: FaultType | undefined;
    let faultOpts = directive ?? {};
    if (directive?.fault !== undefined && (directive.times === undefined || attempt <= directive.times)) {
      fault = directive.fault;
    } else {
      for (const rule of [...(ep.faults ?? []), ...this.#config.faults]) {
        if (this.#random() < rule.rate) {
          fault = rule.type;
          faultOpts = rule;
          break;
        }
      }
    }
    return { fault, faultOpts };
  }

  /**
   * Step 5: the model's latency; with a cost model, baseMs + perRecordMs * n for a request of n records.
   * The caller waits it out from the body's arrival: the emulator's own work since (the signature,
   * routing) is part of it, not added to it (1-2 ms a request on a busy 2-core machine).
   */
  #latency(model: ModelName, ep: EndpointConfig, variant: VariantConfig, directed: LatencySpec | undefined, body: Buffer, streamed: boolean): number {
    if (ep.cost && directed === undefined) return ep.cost.baseMs + ep.cost.perRecordMs * recordCount(model, body);
    // (An LLM model's whole generation, unstreamed; a stream spends it between its parts.)
    if (isLlmModel(model) && directed === undefined && ep.stream !== undefined) return streamed ? 0 : llmLatencyMs(ep.stream, body);
    return latencyOf(directed ?? variant.latencyMs ?? ep.latencyMs ?? this.#config.latencyMs, this.#random);
  }

  /** Step 6: the model's answer, with the session headers. */
  #answer(
    res: ServerResponse,
    entry: RequestLogEntry,
    a: {
      endpointName: string;
      ep: EndpointConfig;
      variant: VariantConfig;
      session: Session | undefined;
      sessionHeader: string | undefined;
      now: number;
      body: Buffer;
      base: OutgoingHttpHeaders;
    },
  ): void {
    const { endpointName, ep, variant, session, sessionHeader, now, base } = a;
    const cfg = this.#config;
    const h = entry.headers;
    const out = runModel(variant.model ?? ep.model ?? cfg.model, {
      variant: variant.name,
      body: a.body,
      headers: h,
      dropLast: ep.batchMismatch === true,
      tokens: { spec: ep.stream, random: this.#random },
    });
    if (out.llm !== undefined) entry.llm = out.llm;
    const headers: OutgoingHttpHeaders = {
      ...base,
      Date: new Date(this.#clock()).toUTCString(),
      'Content-Type': out.contentType,
      'Content-Length': out.body.length,
      'x-Amzn-Invoked-Production-Variant': variant.name,
    };
    if (out.customAttributes !== undefined) headers['X-Amzn-SageMaker-Custom-Attributes'] = out.customAttributes;
    if (sessionHeader === NEW_SESSION) {
      const s = this.#sessions.open(endpointName, variant.name, now, cfg.sessionTtlSeconds);
      headers['X-Amzn-SageMaker-New-Session-Id'] = `${s.id}; Expires=${formatExpires(s.expiresAtMs)}`;
    } else if (session && isCloseSessionBody(a.body)) {
      this.#sessions.close(session.id);
      headers['X-Amzn-SageMaker-Closed-Session-Id'] = session.id;
    }
    entry.status = 200;
    res.writeHead(200, headers);
    res.end(out.body);
  }

  /** A request's log entry and counters; the close of its response settles them. */
  #begin(req: IncomingMessage, res: ServerResponse, url: string, arrived: number) {
    this.#requests++;
    this.#inFlight++;
    if (this.#inFlight > this.#maxInFlight) this.#maxInFlight = this.#inFlight;
    const requestId = randomUUID();
    const entry: RequestLogEntry = {
      seq: ++this.#seq,
      time: new Date(arrived).toISOString(),
      method: req.method ?? '',
      path: url,
      headers: flatHeaders(req.headers),
      body: Buffer.alloc(0),
      bodyBytes: 0,
      requestId,
      attempt: 0,
      delivery: 0,
      status: 0,
    };
    const track: { endpointStats: EndpointStats | undefined; logged: boolean } = { endpointStats: undefined, logged: false };
    res.once('close', () => {
      this.#inFlight--;
      if (track.endpointStats) track.endpointStats.inFlight--;
      if (entry.status !== 0) this.#byStatus[entry.status] = (this.#byStatus[entry.status] ?? 0) + 1;
      if (track.logged) this.#onRequest?.(entry);
    });
    return { entry, requestId, track };
  }

  /** Step 1: the SigV4 signature and the key's permission; the error to answer, or undefined. */
  #authenticate(req: IncomingMessage, url: string, bodySha256: string, arrived: number, entry: RequestLogEntry, endpointName: string): ApiError | undefined {
    const cfg = this.#config;
    const auth = verifySigV4(
      { method: req.method!, url, rawHeaders: req.rawHeaders, bodySha256 },
      { region: cfg.region, service: SERVICE, now: arrived, lookup: (id) => this.#credentials.get(id), keyCache: this.#keyCache },
    );
    if (!auth.ok) return auth.error;
    entry.accessKeyId = auth.credential.accessKeyId;
    if (this.#credentials.get(auth.credential.accessKeyId)?.denied) return accessDenied(cfg.region, cfg.accountId, endpointName);
    return undefined;
  }

  /** Step 6 of InvokeEndpointWithResponseStream: the stream model's parts, and a mid-stream fault (stream.ts). */
  async #stream(
    req: IncomingMessage,
    res: ServerResponse,
    entry: RequestLogEntry,
    a: {
      ep: EndpointConfig;
      variant: VariantConfig;
      directive: Directive | undefined;
      arrivedAt: number;
      base: OutgoingHttpHeaders;
      body: Buffer;
      reply: (e: ApiError) => void;
    },
  ): Promise<void> {
    const sd = streamDirective(a.directive as Record<string, unknown> | undefined);
    if (typeof sd === 'string') return a.reply(validationError(`Invalid emulator directive: ${sd}`));
    const log: StreamLog = { parts: 0, bytes: 0, completionTokens: 0, promptTokens: 0 };
    entry.stream = log;
    entry.status = 200;
    const headers: OutgoingHttpHeaders = { ...a.base, Date: new Date(this.#clock()).toUTCString(), 'x-Amzn-Invoked-Production-Variant': a.variant.name };
    const attrs = entry.headers['x-amzn-sagemaker-custom-attributes'];
    if (attrs !== undefined) headers['X-Amzn-SageMaker-Custom-Attributes'] = attrs;
    // (An LLM model's endpoint streams in its own shape unless its stream spec names another.)
    const own = a.variant.model ?? a.ep.model ?? this.#config.model;
    const spec = { model: isLlmModel(own) ? own : ('echo' as const), ...a.ep.stream, ...sd.spec };
    const fault = pickStreamFault(sd.fault, entry.delivery, a.ep.streamFaults, this.#random);
    const random = this.#random;
    await serveStream(req, res, {
      spec,
      fault,
      body: a.body,
      headers: entry.headers,
      random,
      variant: a.variant.name,
      base: headers,
      arrivedAt: a.arrivedAt,
      log,
    });
  }

  /** InvokeEndpointAsync, after authentication (async.ts). */
  #handleAsync(req: IncomingMessage, res: ServerResponse, entry: RequestLogEntry, body: Buffer, base: OutgoingHttpHeaders, reply: (e: ApiError) => void): void {
    const note = (status: number, fault?: FaultType): void => {
      if (status !== 0) entry.status = status;
      if (fault) entry.fault = fault;
    };
    this.#async.handle({ req, res, endpointName: entry.endpoint!, headers: entry.headers, body, attempt: entry.delivery, base, reply, note });
  }

  // long function: the order of checks (auth, validation, routing, capacity, faults, latency, answer) reads top to bottom
  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    if (url.startsWith('/_emulator/')) {
      await handleAdmin(this, req, res, url);
      return;
    }

    const arrived = this.#clock();
    const arrivedAt = performance.now();
    const { entry, requestId, track } = this.#begin(req, res, url, arrived);

    const received = await readBody(req, this.#config.maxBodyBytes);
    if (!received) return; // client went away mid-body: nothing to log
    track.logged = true;
    entry.body = received.body;
    entry.bodyBytes = received.bytes;
    this.#pushLog(entry);

    const cfg = this.#config;
    const base: OutgoingHttpHeaders = { 'x-amzn-RequestId': requestId };
    const reply = (err: ApiError): void => {
      entry.status = err.status;
      entry.errorCode = err.code;
      base.Date = new Date(this.#clock()).toUTCString();
      sendApiError(res, err, base);
    };

    const endpointName = endpointOf(req.method, url);
    if (endpointName !== undefined) entry.endpoint = endpointName;
    entry.delivery = this.#attempt(`${endpointName ?? url.split('?')[0]}\n${received.sha256}`);
    const call = entry.headers['amz-sdk-invocation-id'];
    entry.attempt = call !== undefined && call.length <= 64 ? this.#attempt(`call\n${call}`) : entry.delivery;
    if (endpointName === undefined) return reply(unknownOperation());

    // 1. Authentication (SigV4) and authorization.
    const denied = this.#authenticate(req, url, received.sha256, arrived, entry, endpointName);
    if (denied) return reply(denied);
    // InvokeEndpointAsync goes its own way after authentication (its own checks, a queue).
    if (ASYNC_INVOCATIONS.test(url.split('?')[0]!)) return this.#handleAsync(req, res, entry, received.body, base, reply);

    // 2. Input validation, then the endpoint and its routing targets.
    const streamed = isStreamPath(url);
    const invalid = validateInvocation(endpointName, entry.headers, received.bytes, cfg.maxBodyBytes, streamed);
    if (invalid) return reply(validationError(invalid));
    const ep = cfg.endpoints[endpointName];
    if (!ep) return reply(validationError(`Endpoint ${endpointName} of account ${cfg.accountId} not found.`));
    const h = entry.headers;

    const sessionHeader = h['x-amzn-sagemaker-session-id'];
    const now = this.#clock();
    const routed = this.#target(endpointName, ep, h, now);
    if ('status' in routed) return reply(routed);
    const { variant, session } = routed;
    const container = h['x-amzn-sagemaker-target-container-hostname'];
    entry.variant = variant.name;

    // 3. Capacity: a request arriving while K are in flight is throttled.
    const max = this.#maxConcurrency(endpointName, ep);
    let stats = this.#endpointStats.get(endpointName);
    if (!stats) this.#endpointStats.set(endpointName, (stats = { requests: 0, inFlight: 0, maxInFlight: 0 }));
    stats.requests++;
    if (max !== null && stats.inFlight >= max) return reply(throttling());
    track.endpointStats = stats;
    if (++stats.inFlight > stats.maxInFlight) stats.maxInFlight = stats.inFlight;

    // 4. Faults: the body's directive first, else the random ones.
    const directive = parseDirective(received.body);
    if (typeof directive === 'string') return reply(validationError(`Invalid emulator directive: ${directive}`));
    const { fault, faultOpts } = this.#fault(directive, ep, entry.delivery);
    if (fault) entry.fault = fault;
    const ctx = { region: cfg.region, account: cfg.accountId, endpoint: endpointName };
    if (fault && isFrontEndFault(fault)) return reply(faultError(fault, faultOpts, ctx)!);

    // 5. Model latency (front-end rejections above are immediate), from the body's arrival (#latency).
    const model = variant.model ?? ep.model ?? cfg.model;
    const ms = this.#latency(model, ep, variant, directive?.latencyMs, received.body, streamed) - (performance.now() - received.at);
    if (ms > 0) {
      await sleepUnlessClosed(ms, res);
      if (res.destroyed) return;
    }

    if (fault === 'stall') return; // hold the socket until the client or close() ends it
    if (fault === 'reset') {
      req.socket.resetAndDestroy();
      return;
    }
    const failure = fault ? faultError(fault, faultOpts, { ...ctx, ...(container && { container }) })! : batchFailure(model, received.body, ctx);
    if (failure) return reply(failure);

    // 6. The model (a stream: stream.ts), and session bookkeeping.
    if (streamed) return this.#stream(req, res, entry, { ep, variant, directive, arrivedAt, base, body: received.body, reply });
    this.#answer(res, entry, { endpointName, ep, variant, session, sessionHeader, now, body: received.body, base });
  }
}

/** The endpoint name of `POST /endpoints/{name}/invocations` (percent-decoded where it can be), else undefined. */
/** A batch model's ModelError for the whole request (batch-models.ts), or undefined. */
function batchFailure(model: ModelName, body: Buffer, ctx: { region: string; account: string; endpoint: string }): ApiError | undefined {
  const why = isBatchModel(model) ? batchModelError(model, body) : undefined;
  return why === undefined ? undefined : modelError({ ...ctx, originalStatusCode: 400, originalMessage: why });
}

function isStreamPath(url: string): boolean {
  const q = url.indexOf('?');
  return (q === -1 ? url : url.slice(0, q)).endsWith('/invocations-response-stream');
}

function endpointOf(method: string | undefined, url: string): string | undefined {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const match = method === 'POST' ? (INVOCATIONS.exec(path) ?? ASYNC_INVOCATIONS.exec(path)) : null;
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return match[1]!;
  }
}

/**
 * Starts an emulator. Defaults: 127.0.0.1, an ephemeral port, endpoints `demo`
 * and `my-ep` (variant AllTraffic). Endpoints given in `config` replace the
 * default ones.
 */
export async function startEmulator(config?: EmulatorConfigInput, options: EmulatorOptions = {}): Promise<Emulator> {
  const base = defaultConfig();
  if (config?.endpoints) base.endpoints = {};
  const server = new EmulatorServer(mergeConfig(base, config), options);
  await server.listen();
  return server;
}
