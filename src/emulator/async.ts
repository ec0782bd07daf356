// InvokeEndpointAsync in the emulator: POST /endpoints/{name}/async-invocations, after the same
// authentication as InvokeEndpoint (server.ts). Checks the request (async-validate.ts), answers 202
// with the output and failure locations, and queues the job: each endpoint has K workers (the
// instances) that fetch an InputLocation with the emulator's own S3 client, wait the model's time
// (the cost model or latency), and write the output object or the failure object to the
// S3-compatible server. Directives (`__emulator` in the input): `fault: "model-error"` writes a
// failure object, `fault: "stall"` never finishes (nothing is written). Front-end faults
// (throttle, not-ready, internal, unavailable, dependency, reset) answer the submission itself.
import { randomUUID } from 'node:crypto';
import { Agent, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { S3Client } from '@aws-sdk/client-s3';
import type { AsyncConfig, EndpointConfig, FaultOptions, FaultType, LatencySpec, ModelName, VariantConfig } from './config.js';
import { type ApiError, validationError } from './errors.js';
import { type Directive, faultError, parseDirective } from './faults.js';
import { validateAsyncInvocation } from './async-validate.js';
import { runModel } from './models.js';

export const ASYNC_INVOCATIONS = /^\/endpoints\/([^/]+)\/async-invocations$/;

export interface AsyncStats {
  /** Submissions accepted (202). */
  submitted: number;
  /** Output objects written. */
  completed: number;
  /** Failure objects written. */
  failed: number;
  /** Jobs that never finish (`stall`). */
  stalled: number;
  /** Waiting for a worker, and running. */
  queued: number;
  running: number;
  maxRunning: number;
}

/** What the async front end needs from the server (its routing, faults and latency rules). */
export interface AsyncContext {
  config: AsyncConfig | undefined;
  region: string;
  accountId: string;
  endpoints: Record<string, EndpointConfig>;
  defaultModel: ModelName;
  fault(directive: Directive | undefined, ep: EndpointConfig, attempt: number): { fault: FaultType | undefined; faultOpts: FaultOptions };
  latency(model: ModelName, ep: EndpointConfig, variant: VariantConfig, directed: LatencySpec | undefined, body: Buffer): number;
  variant(ep: EndpointConfig): VariantConfig;
}

export interface AsyncRequest {
  req: IncomingMessage;
  res: ServerResponse;
  endpointName: string;
  headers: Record<string, string>;
  body: Buffer;
  attempt: number;
  base: OutgoingHttpHeaders;
  reply: (err: ApiError) => void;
  /** Sets the log entry's status and fault. */
  note: (status: number, fault?: FaultType) => void;
}

interface Job {
  endpointName: string;
  ep: EndpointConfig;
  variant: VariantConfig;
  body: Buffer | undefined;
  inputLocation: string | undefined;
  headers: Record<string, string>;
  output: string;
  failure: string;
  /** Epoch ms: past it a queued job expires (RequestTTLSeconds); its run may last invocationTimeoutMs. */
  expiresAt: number;
  invocationTimeoutMs: number;
  directive: Directive | undefined;
}

interface Queue {
  jobs: Job[];
  running: number;
}

export class AsyncService {
  readonly #queues = new Map<string, Queue>();
  readonly #stats: AsyncStats = { submitted: 0, completed: 0, failed: 0, stalled: 0, queued: 0, running: 0, maxRunning: 0 };
  #s3: Promise<S3Client> | undefined;
  #s3For: AsyncConfig | undefined;
  #closed = false;
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(
    readonly ctx: () => AsyncContext,
    readonly now: () => number,
  ) {}

  stats(): AsyncStats {
    return { ...this.#stats };
  }

  close(): void {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    void this.#s3?.then((c) => c.destroy()).catch(() => undefined);
  }

  /** Steps 2-4 for InvokeEndpointAsync, then the 202 and the job queued. */
  handle(r: AsyncRequest): void {
    const ctx = this.ctx();
    const h = r.headers;
    const invalid = validateAsyncInvocation(r.endpointName, h, r.body.length);
    if (invalid) {
      r.reply(validationError(invalid));
      return;
    }
    const ep = ctx.endpoints[r.endpointName];
    if (!ep) {
      r.reply(validationError(`Endpoint ${r.endpointName} of account ${ctx.accountId} not found.`));
      return;
    }
    const cfg = ctx.config;
    if (cfg === undefined) {
      r.reply(
        validationError(`Endpoint ${r.endpointName} is not configured for asynchronous inference (the emulator has no async output path: --async-output).`),
      );
      return;
    }
    const inputLocation = h['x-amzn-sagemaker-inputlocation'];
    const directive = inputLocation === undefined ? parseDirective(r.body) : undefined;
    if (typeof directive === 'string') {
      r.reply(validationError(`Invalid emulator directive: ${directive}`));
      return;
    }
    const { fault, faultOpts } = ctx.fault(directive, ep, r.attempt);
    if (fault === 'reset') {
      r.note(0, fault);
      r.req.socket.resetAndDestroy();
      return;
    }
    if (fault !== undefined && fault !== 'model-error' && fault !== 'stall') {
      r.note(0, fault);
      r.reply(faultError(fault, faultOpts, { region: ctx.region, account: ctx.accountId, endpoint: r.endpointName })!);
      return;
    }
    const inferenceId = h['x-amzn-sagemaker-inference-id'] ?? randomUUID();
    const ext = h['x-amzn-sagemaker-s3outputpathextension'];
    const filename = h['x-amzn-sagemaker-filename'];
    const place = (root: string, name: string): string => `${root.replace(/\/$/, '')}/${ext ? `${ext.replace(/^\/|\/$/g, '')}/` : ''}${name}`;
    const job: Job = {
      endpointName: r.endpointName,
      ep,
      variant: ctx.variant(ep),
      body: inputLocation === undefined ? r.body : undefined,
      inputLocation,
      headers: h,
      output: place(cfg.outputPath, filename ?? `${inferenceId}.out`),
      failure: place(cfg.failurePath, filename ?? `${inferenceId}-error.out`),
      expiresAt: this.now() + Number(h['x-amzn-sagemaker-requestttlseconds'] ?? 21_600) * 1000,
      invocationTimeoutMs: Number(h['x-amzn-sagemaker-invocationtimeoutseconds'] ?? 900) * 1000,
      directive,
    };
    this.#stats.submitted++;
    r.note(202, fault);
    const body = JSON.stringify({ InferenceId: inferenceId });
    r.res.writeHead(202, {
      ...r.base,
      Date: new Date(this.now()).toUTCString(),
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      'X-Amzn-SageMaker-OutputLocation': job.output,
      'X-Amzn-SageMaker-FailureLocation': job.failure,
    });
    r.res.end(body);
    this.#enqueue(job);
  }

  #enqueue(job: Job): void {
    let q = this.#queues.get(job.endpointName);
    if (q === undefined) this.#queues.set(job.endpointName, (q = { jobs: [], running: 0 }));
    q.jobs.push(job);
    this.#stats.queued++;
    this.#pump(q);
  }

  #pump(q: Queue): void {
    const workers = this.ctx().config?.workers ?? 8;
    while (!this.#closed && q.running < workers && q.jobs.length > 0) {
      const job = q.jobs.shift()!;
      this.#stats.queued--;
      q.running++;
      this.#stats.running++;
      if (this.#stats.running > this.#stats.maxRunning) this.#stats.maxRunning = this.#stats.running;
      this.#run(job)
        .catch(() => undefined)
        .finally(() => {
          q.running--;
          this.#stats.running--;
          this.#pump(q);
        });
    }
  }

  /** One job on a worker: input, the model's time, then the output or the failure object. */
  async #run(job: Job): Promise<void> {
    const ctx = this.ctx();
    if (this.now() > job.expiresAt) return this.#fail(job, 'Request expired: it waited in the queue longer than its RequestTTLSeconds.');
    let body = job.body;
    let directive = job.directive;
    if (body === undefined) {
      try {
        body = await this.#getInput(job.inputLocation!);
      } catch (err) {
        return this.#fail(job, `Failed to download the input from ${job.inputLocation}: ${(err as Error).name}: ${(err as Error).message}`);
      }
      const d = parseDirective(body);
      directive = typeof d === 'string' ? undefined : d;
    }
    const model = job.variant.model ?? job.ep.model ?? ctx.defaultModel;
    const ms = ctx.latency(model, job.ep, job.variant, directive?.latencyMs, body);
    if (directive?.fault === 'stall') {
      this.#stats.stalled++;
      return; // never finishes: no output, no failure object
    }
    if (ms > job.invocationTimeoutMs) {
      await this.#sleep(job.invocationTimeoutMs);
      return this.#fail(job, `Invocation timed out: the model did not answer within ${job.invocationTimeoutMs / 1000} s (InvocationTimeoutSeconds).`);
    }
    await this.#sleep(ms);
    // The worker takes the next job now; the answer is uploaded meanwhile (the queue's rate is the
    // model's: K / the job's time, whatever the S3 server's speed).
    if (directive?.fault === 'model-error') {
      const status = directive.originalStatusCode ?? 500;
      void this.#fail(job, `Received server error (${status}) from model with message "${directive.originalMessage ?? 'model failure'}".`, 'ModelError').catch(
        () => undefined,
      );
      return;
    }
    const out = runModel(model, { variant: job.variant.name, body, headers: asyncHeaders(job.headers) });
    void this.#put(job.output, out.body, out.contentType).then(
      () => this.#stats.completed++,
      () => undefined,
    );
  }

  async #fail(job: Job, message: string, code = 'ClientError'): Promise<void> {
    await this.#put(job.failure, Buffer.from(JSON.stringify({ ErrorCode: code, Message: message })), 'application/json');
    this.#stats.failed++;
  }

  #sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#timers.delete(t);
        resolve();
      }, ms);
      this.#timers.add(t);
    });
  }

  #client(): Promise<S3Client> {
    const cfg = this.ctx().config!;
    if (this.#s3 === undefined || this.#s3For !== cfg) {
      this.#s3For = cfg;
      this.#s3 = newS3Client(cfg, this.ctx().region);
    }
    return this.#s3;
  }

  async #put(uri: string, body: Buffer, contentType: string): Promise<void> {
    if (this.#closed) return;
    const { bucket, key } = splitS3(uri);
    const s3 = await import('@aws-sdk/client-s3');
    await (await this.#client()).send(new s3.PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
  }

  async #getInput(uri: string): Promise<Buffer> {
    const { bucket, key } = splitS3(uri);
    const s3 = await import('@aws-sdk/client-s3');
    const got = await (await this.#client()).send(new s3.GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await got.Body!.transformToByteArray());
  }
}

const ASYNC_ONLY = new Set([
  'x-amzn-sagemaker-content-type',
  'x-amzn-sagemaker-accept',
  'x-amzn-sagemaker-inputlocation',
  'x-amzn-sagemaker-s3outputpathextension',
  'x-amzn-sagemaker-filename',
  'x-amzn-sagemaker-requestttlseconds',
  'x-amzn-sagemaker-invocationtimeoutseconds',
]);

/** The model sees the async request's content type and accept as InvokeEndpoint's headers. */
function asyncHeaders(h: Record<string, string>): Record<string, string> {
  const out = { ...h };
  for (const k of Object.keys(out)) if (ASYNC_ONLY.has(k)) delete out[k];
  if (h['x-amzn-sagemaker-content-type'] !== undefined) out['content-type'] = h['x-amzn-sagemaker-content-type'];
  else delete out['content-type'];
  if (h['x-amzn-sagemaker-accept'] !== undefined) out.accept = h['x-amzn-sagemaker-accept'];
  else delete out.accept;
  return out;
}

function splitS3(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (m === null) throw new Error(`not an s3://bucket/key URI: ${uri}`);
  return { bucket: m[1]!, key: m[2]! };
}

async function newS3Client(cfg: AsyncConfig, region: string): Promise<S3Client> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const s3 = await import('@aws-sdk/client-s3');
  return new s3.S3Client({
    region: cfg.s3Region ?? region,
    endpoint: cfg.s3EndpointUrl,
    forcePathStyle: true,
    // Answers of many workers upload at once: more sockets than the SDK's default 50 (no queueing warning).
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 512 }), httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 512 }) },
    credentials: { accessKeyId: cfg.s3AccessKeyId ?? 'S3RVER', secretAccessKey: cfg.s3SecretAccessKey ?? 'S3RVER' },
  });
}
