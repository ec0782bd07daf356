// Emulator configuration: JSON-friendly shape, defaults, checking and merging.
import { ACCOUNT_ID_DEFAULT } from './errors.js';
import { checkStreamConfig, type RandomStreamFault } from './stream.js';
import type { StreamSpec } from './stream-models.js';

export type ModelName = 'echo' | 'mirror' | 'lines-echo' | 'json-echo' | 'tgi' | 'openai' | 'lmi';
export const MODEL_NAMES: readonly ModelName[] = ['echo', 'mirror', 'lines-echo', 'json-echo', 'tgi', 'openai', 'lmi'];

/** Fixed milliseconds, or uniform in [min, max] drawn from the seeded PRNG. */
export type LatencySpec = number | { min: number; max: number };

export type FaultType = 'model-error' | 'throttle' | 'not-ready' | 'internal' | 'unavailable' | 'dependency' | 'reset' | 'stall';
export const FAULT_TYPES: readonly FaultType[] = ['model-error', 'throttle', 'not-ready', 'internal', 'unavailable', 'dependency', 'reset', 'stall'];

export interface FaultOptions {
  /** Adds `Retry-After: <value>` (seconds or an HTTP date) to the error. */
  retryAfter?: number | string;
  /** Adds `x-amz-retry-after: <ms>` to the error. */
  retryAfterMs?: number;
  /** model-error only: the container's status (default 400). */
  originalStatusCode?: number;
  /** model-error only: the container's message. */
  originalMessage?: string;
}

export interface RandomFault extends FaultOptions {
  type: FaultType;
  /** Probability in [0, 1] per request. */
  rate: number;
}

export interface VariantConfig {
  name: string;
  /** Relative routing weight (default 1). */
  weight?: number;
  latencyMs?: LatencySpec;
  model?: ModelName;
}

export interface ScheduleStep {
  /** Milliseconds after the schedule was configured (or the last reset). */
  atMs: number;
  maxConcurrency: number | null;
}

export interface EndpointConfig {
  variants: VariantConfig[];
  model?: ModelName;
  latencyMs?: LatencySpec;
  faults?: RandomFault[];
  /** Requests arriving while this many are in flight get ThrottlingException. */
  maxConcurrency?: number | null;
  schedule?: ScheduleStep[];
  /** Multi-container direct invocation: allowed target container hostnames. */
  containers?: string[];
  /** Multi-model endpoint: allowed target models; absent or "*" allows any. */
  models?: string[] | '*';
  /** Inference components; when set, the component header is required. */
  inferenceComponents?: string[];
  /**
   * Model latency of a request of n records: baseMs + perRecordMs * n (batch models count n; others 1),
   * from the request body's arrival (the emulator's own work since is part of it). Replaces latencyMs.
   */
  cost?: { baseMs: number; perRecordMs: number };
  /** Batch models: the answer leaves out its last item (one fewer than the records sent). */
  batchMismatch?: boolean;
  /** InvokeEndpointWithResponseStream: the stream model and its timing (stream-models.ts; default echo). */
  stream?: StreamSpec;
  /** Mid-stream faults drawn per streamed request (stream.ts). */
  streamFaults?: RandomStreamFault[];
}

export interface CredentialConfig {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** ISO date or epoch ms after which the key draws ExpiredTokenException. */
  expiresAt?: string | number;
  /** The key authenticates, but IAM denies sagemaker:InvokeEndpoint. */
  denied?: boolean;
}

/** InvokeEndpointAsync (async.ts): where outputs and failures go, and the S3-compatible server. */
export interface AsyncConfig {
  /** `s3://bucket/prefix`: output objects (`<inference id>.out`, or the request's Filename). */
  outputPath: string;
  /** `s3://bucket/prefix`: failure objects (`<inference id>-error.out`). */
  failurePath: string;
  /** The S3-compatible server (path-style addressing). */
  s3EndpointUrl: string;
  s3Region?: string;
  s3AccessKeyId?: string;
  s3SecretAccessKey?: string;
  /** Jobs running at once per endpoint (its instances); default 8. */
  workers?: number;
}

export interface EmulatorConfig {
  host: string;
  port: number;
  region: string;
  accountId: string;
  /** PRNG seed for variant routing, latency ranges and random faults. */
  seed: number;
  credentials: CredentialConfig[];
  endpoints: Record<string, EndpointConfig>;
  /** Default model for endpoints/variants that do not name one. */
  model: ModelName;
  latencyMs: LatencySpec;
  /** Random faults applied to every endpoint (after the endpoint's own). */
  faults: RandomFault[];
  maxBodyBytes: number;
  /** Added to the server clock (simulates client clock skew). */
  clockOffsetMs: number;
  sessionTtlSeconds: number;
  /** Most log entries kept (oldest half dropped when full; also past 256 MiB of bodies); 0 disables the log. */
  logLimit: number;
  /** InvokeEndpointAsync; absent: async requests are refused (ValidationError). */
  async?: AsyncConfig | undefined;
}

/** What callers pass: everything optional; `null` deletes an endpoint when merging. */
export type EmulatorConfigInput = Partial<Omit<EmulatorConfig, 'endpoints'>> & {
  endpoints?: Record<string, Partial<EndpointConfig> | null>;
};

export const EXAMPLE_CREDENTIAL: CredentialConfig = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};

export const MAX_BODY_BYTES = 6_291_456;

export function defaultConfig(): EmulatorConfig {
  return {
    host: '127.0.0.1',
    port: 0,
    region: 'us-east-1',
    accountId: ACCOUNT_ID_DEFAULT,
    seed: 1,
    credentials: [{ ...EXAMPLE_CREDENTIAL }],
    endpoints: {
      demo: { variants: [{ name: 'AllTraffic', weight: 1 }] },
      'my-ep': { variants: [{ name: 'AllTraffic', weight: 1 }] },
    },
    model: 'echo',
    latencyMs: 0,
    faults: [],
    maxBodyBytes: MAX_BODY_BYTES,
    clockOffsetMs: 0,
    sessionTtlSeconds: 1200,
    logLimit: 100_000,
  };
}

// --- checking ----------------------------------------------------------------

class ConfigError extends TypeError {}

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(JSON.stringify(v)));

function check(ok: boolean, path: string, what: string, value: unknown): void {
  if (!ok) throw new ConfigError(`config.${path} must be ${what}, got ${show(value)}`);
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown, min = 0): v is number => typeof v === 'number' && Number.isFinite(v) && v >= min;
const isStrList = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

function checkLatency(v: unknown, path: string): void {
  const ok = isNum(v) || (isObj(v) && isNum(v.min) && isNum(v.max) && v.max >= v.min);
  check(ok, path, 'a number >= 0 or {"min": N, "max": M} with 0 <= N <= M', v);
}

function checkFaultOptions(f: Record<string, unknown>, path: string): void {
  const ra = f.retryAfter;
  check(ra === undefined || isNum(ra) || typeof ra === 'string', `${path}.retryAfter`, 'seconds or a string', ra);
  check(f.retryAfterMs === undefined || isNum(f.retryAfterMs), `${path}.retryAfterMs`, 'a number >= 0', f.retryAfterMs);
  const osc = f.originalStatusCode;
  check(osc === undefined || (Number.isInteger(osc) && isNum(osc) && osc <= 599), `${path}.originalStatusCode`, 'an integer 0-599', osc);
  const om = f.originalMessage;
  check(om === undefined || typeof om === 'string', `${path}.originalMessage`, 'a string', om);
}

export function checkFaultType(v: unknown, path: string): asserts v is FaultType {
  check(FAULT_TYPES.includes(v as FaultType), path, `one of ${FAULT_TYPES.join(', ')}`, v);
}

function checkFaults(v: unknown, path: string): void {
  check(Array.isArray(v), path, 'an array', v);
  (v as unknown[]).forEach((f, i) => {
    const p = `${path}[${i}]`;
    check(isObj(f), p, 'an object', f);
    const o = f as Record<string, unknown>;
    checkFaultType(o.type, `${p}.type`);
    check(isNum(o.rate) && (o.rate as number) <= 1, `${p}.rate`, 'a number in [0, 1]', o.rate);
    checkFaultOptions(o, p);
  });
}

function checkModel(v: unknown, path: string): void {
  check(v === undefined || MODEL_NAMES.includes(v as ModelName), path, `one of ${MODEL_NAMES.join(', ')}`, v);
}

function checkEndpoint(e: EndpointConfig, path: string): void {
  check(Array.isArray(e.variants) && e.variants.length > 0, `${path}.variants`, 'a non-empty array', e.variants);
  e.variants.forEach((v, i) => {
    const p = `${path}.variants[${i}]`;
    check(isObj(v) && typeof v.name === 'string' && v.name !== '', `${p}.name`, 'a non-empty string', (v as VariantConfig)?.name);
    check(v.weight === undefined || isNum(v.weight), `${p}.weight`, 'a number >= 0', v.weight);
    if (v.latencyMs !== undefined) checkLatency(v.latencyMs, `${p}.latencyMs`);
    checkModel(v.model, `${p}.model`);
  });
  checkModel(e.model, `${path}.model`);
  if (e.latencyMs !== undefined) checkLatency(e.latencyMs, `${path}.latencyMs`);
  if (e.faults !== undefined) checkFaults(e.faults, `${path}.faults`);
  const mc = e.maxConcurrency;
  check(mc === undefined || mc === null || (Number.isInteger(mc) && isNum(mc)), `${path}.maxConcurrency`, 'an integer >= 0 or null', mc);
  if (e.schedule !== undefined) {
    check(Array.isArray(e.schedule), `${path}.schedule`, 'an array', e.schedule);
    e.schedule.forEach((s, i) => {
      const p = `${path}.schedule[${i}]`;
      check(isObj(s) && isNum(s.atMs), `${p}.atMs`, 'a number >= 0', s?.atMs);
      check(
        s.maxConcurrency === null || (Number.isInteger(s.maxConcurrency) && isNum(s.maxConcurrency)),
        `${p}.maxConcurrency`,
        'an integer >= 0 or null',
        s.maxConcurrency,
      );
    });
  }
  check(e.containers === undefined || isStrList(e.containers), `${path}.containers`, 'an array of strings', e.containers);
  check(e.models === undefined || e.models === '*' || isStrList(e.models), `${path}.models`, 'an array of strings or "*"', e.models);
  const cost = e.cost as Record<string, unknown> | undefined;
  check(
    cost === undefined || (isObj(cost) && isNum(cost.baseMs) && isNum(cost.perRecordMs) && Object.keys(cost).length === 2),
    `${path}.cost`,
    '{"baseMs": N, "perRecordMs": N} with numbers >= 0',
    cost,
  );
  check(e.batchMismatch === undefined || typeof e.batchMismatch === 'boolean', `${path}.batchMismatch`, 'a boolean', e.batchMismatch);
  check(e.inferenceComponents === undefined || isStrList(e.inferenceComponents), `${path}.inferenceComponents`, 'an array of strings', e.inferenceComponents);
  const streamProblem = checkStreamConfig(e as unknown as Record<string, unknown>, `config.${path}`);
  if (streamProblem !== undefined) throw new ConfigError(streamProblem);
}

/** Throws a TypeError naming the first bad field. */
export function checkConfig(c: EmulatorConfig): void {
  check(typeof c.host === 'string' && c.host !== '', 'host', 'a non-empty string', c.host);
  check(Number.isInteger(c.port) && isNum(c.port) && c.port <= 65535, 'port', 'an integer 0-65535', c.port);
  check(typeof c.region === 'string' && /^[a-z0-9-]+$/.test(c.region), 'region', 'a region name', c.region);
  check(typeof c.accountId === 'string' && /^\d{12}$/.test(c.accountId), 'accountId', 'a 12-digit string', c.accountId);
  check(Number.isInteger(c.seed), 'seed', 'an integer', c.seed);
  check(Array.isArray(c.credentials), 'credentials', 'an array', c.credentials);
  c.credentials.forEach((k, i) => {
    const p = `credentials[${i}]`;
    check(isObj(k) && typeof k.accessKeyId === 'string' && k.accessKeyId !== '', `${p}.accessKeyId`, 'a non-empty string', k?.accessKeyId);
    check(typeof k.secretAccessKey === 'string' && k.secretAccessKey !== '', `${p}.secretAccessKey`, 'a non-empty string', '<redacted>');
    check(k.sessionToken === undefined || typeof k.sessionToken === 'string', `${p}.sessionToken`, 'a string', '<redacted>');
    check(k.expiresAt === undefined || !Number.isNaN(new Date(k.expiresAt).getTime()), `${p}.expiresAt`, 'an ISO date or epoch ms', k.expiresAt);
    check(k.denied === undefined || typeof k.denied === 'boolean', `${p}.denied`, 'a boolean', k.denied);
  });
  check(isObj(c.endpoints), 'endpoints', 'an object keyed by endpoint name', c.endpoints);
  for (const [name, e] of Object.entries(c.endpoints)) {
    check(isObj(e), `endpoints.${name}`, 'an object', e);
    checkEndpoint(e, `endpoints.${name}`);
  }
  checkModel(c.model, 'model');
  checkLatency(c.latencyMs, 'latencyMs');
  checkFaults(c.faults, 'faults');
  check(Number.isInteger(c.maxBodyBytes) && isNum(c.maxBodyBytes), 'maxBodyBytes', 'an integer >= 0', c.maxBodyBytes);
  check(Number.isFinite(c.clockOffsetMs), 'clockOffsetMs', 'a number', c.clockOffsetMs);
  check(isNum(c.sessionTtlSeconds, 1), 'sessionTtlSeconds', 'a number >= 1', c.sessionTtlSeconds);
  check(Number.isInteger(c.logLimit) && isNum(c.logLimit), 'logLimit', 'an integer >= 0', c.logLimit);
  if (c.async !== undefined) checkAsync(c.async);
}

function checkAsync(a: AsyncConfig): void {
  check(isObj(a), 'async', 'an object', a);
  const s3 = /^s3:\/\/[^/]+(\/.*)?$/;
  check(typeof a.outputPath === 'string' && s3.test(a.outputPath), 'async.outputPath', 'an s3://bucket/prefix URI', a.outputPath);
  check(typeof a.failurePath === 'string' && s3.test(a.failurePath), 'async.failurePath', 'an s3://bucket/prefix URI', a.failurePath);
  check(typeof a.s3EndpointUrl === 'string' && /^https?:\/\/[^/]/.test(a.s3EndpointUrl), 'async.s3EndpointUrl', 'an http(s) URL', a.s3EndpointUrl);
  check(a.workers === undefined || (Number.isInteger(a.workers) && isNum(a.workers, 1)), 'async.workers', 'an integer >= 1', a.workers);
  for (const k of ['s3Region', 's3AccessKeyId', 's3SecretAccessKey'] as const) {
    check(a[k] === undefined || typeof a[k] === 'string', `async.${k}`, 'a string', k === 's3SecretAccessKey' ? '<redacted>' : a[k]);
  }
}

/**
 * Applies a partial config over a full one. Top-level keys replace; endpoints
 * merge by name (each endpoint's keys replace, `null` deletes the endpoint, an
 * endpoint without `variants` gets a single `AllTraffic`). Returns a checked copy.
 */
export function mergeConfig(base: EmulatorConfig, input: EmulatorConfigInput = {}): EmulatorConfig {
  if (!isObj(input)) throw new ConfigError(`config must be a JSON object, got ${show(input)}`);
  const { endpoints, ...rest } = input;
  const next: EmulatorConfig = { ...base, ...rest, endpoints: { ...base.endpoints } };
  if (endpoints !== undefined) {
    check(isObj(endpoints), 'endpoints', 'an object keyed by endpoint name', endpoints);
    for (const [name, e] of Object.entries(endpoints)) {
      if (e === null) {
        delete next.endpoints[name];
        continue;
      }
      check(isObj(e), `endpoints.${name}`, 'an object or null', e);
      const prev = next.endpoints[name];
      next.endpoints[name] = {
        ...prev,
        ...e,
        variants: e.variants ?? prev?.variants ?? [{ name: 'AllTraffic', weight: 1 }],
      } as EndpointConfig;
    }
  }
  checkConfig(next);
  return next;
}

/** Parses a JSON config document (for the CLI and the admin route). */
export function parseConfigJson(text: string): EmulatorConfigInput {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObj(value)) throw new ConfigError(`config must be a JSON object, got ${show(value)}`);
  return value as EmulatorConfigInput;
}
