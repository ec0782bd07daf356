// Fault injection: per-request directives carried in the body, and the error
// each fault type produces.
import { checkFaultType, type FaultOptions, type FaultType, type LatencySpec } from './config.js';
import { type ApiError, internalDependency, internalFailure, modelError, modelNotReady, serviceUnavailable, throttling, withHeaders } from './errors.js';

/**
 * `{"__emulator": {...}}` inside a JSON-object request body:
 * - `latencyMs`: number or {min, max}, overrides configured latency;
 * - `fault`: a FaultType; `times`: fail only the first N attempts of this
 *   exact body on this endpoint (omitted = every attempt);
 * - FaultOptions: retryAfter (alias "retry-after"), retryAfterMs,
 *   originalStatusCode, originalMessage.
 */
export interface Directive extends FaultOptions {
  latencyMs?: LatencySpec;
  fault?: FaultType;
  times?: number;
}

const MARKER = Buffer.from('"__emulator"');

/**
 * The directive in a body, undefined when there is none, or an error message
 * when the directive is malformed. Cheap for ordinary bodies: only bodies
 * containing the marker are parsed.
 */
export function parseDirective(body: Buffer): Directive | string | undefined {
  if (body.indexOf(MARKER) === -1) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined; // not a JSON document: the marker is just data
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return undefined;
  const d = (doc as Record<string, unknown>).__emulator;
  if (d === undefined) return undefined;
  if (typeof d !== 'object' || d === null || Array.isArray(d)) return '__emulator must be an object';
  const o = { ...(d as Record<string, unknown>) };
  if (o.retryAfter === undefined && o['retry-after'] !== undefined) o.retryAfter = o['retry-after'];
  try {
    if (o.fault !== undefined) checkFaultType(o.fault, '__emulator.fault');
  } catch (err) {
    return (err as Error).message;
  }
  const lat = o.latencyMs;
  const okNum = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  if (lat !== undefined && !okNum(lat)) {
    const r = lat as Record<string, unknown> | null;
    if (typeof lat !== 'object' || r === null || !okNum(r.min) || !okNum(r.max) || (r.max as number) < (r.min as number)) {
      return '__emulator.latencyMs must be a number >= 0 or {"min": N, "max": M}';
    }
  }
  const times = o.times;
  if (times !== undefined && !(Number.isInteger(times) && (times as number) >= 0)) {
    return '__emulator.times must be an integer >= 0';
  }
  const osc = o.originalStatusCode;
  if (osc !== undefined && !(Number.isInteger(osc) && (osc as number) >= 0 && (osc as number) <= 599)) {
    return '__emulator.originalStatusCode must be an integer 0-599';
  }
  const ra = o.retryAfter;
  if (ra !== undefined && typeof ra !== 'string' && !okNum(ra)) return '__emulator.retryAfter must be seconds or a string';
  if (o.retryAfterMs !== undefined && !okNum(o.retryAfterMs)) return '__emulator.retryAfterMs must be a number >= 0';
  return o as Directive;
}

/** Faults the front end raises before the model runs (no latency applied). */
export const isFrontEndFault = (f: FaultType): boolean => f === 'throttle' || f === 'not-ready';

export interface FaultContext {
  region: string;
  account: string;
  endpoint: string;
}

/** The error response for a fault; undefined for `reset` and `stall` (no response). */
export function faultError(type: FaultType, opts: FaultOptions, ctx: FaultContext): ApiError | undefined {
  let err: ApiError;
  switch (type) {
    case 'model-error': {
      err = modelError({
        ...ctx,
        ...(opts.originalStatusCode !== undefined && { originalStatusCode: opts.originalStatusCode }),
        ...(opts.originalMessage !== undefined && { originalMessage: opts.originalMessage }),
      });
      break;
    }
    case 'throttle':
      err = throttling();
      break;
    case 'not-ready':
      err = modelNotReady();
      break;
    case 'internal':
      err = internalFailure();
      break;
    case 'unavailable':
      err = serviceUnavailable();
      break;
    case 'dependency':
      err = internalDependency();
      break;
    case 'reset':
    case 'stall':
      return undefined;
  }
  const extra: Record<string, string> = {};
  if (opts.retryAfter !== undefined) extra['Retry-After'] = String(opts.retryAfter);
  if (opts.retryAfterMs !== undefined) extra['x-amz-retry-after'] = String(opts.retryAfterMs);
  return Object.keys(extra).length > 0 ? withHeaders(err, extra) : err;
}
