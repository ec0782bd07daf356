// InvokeEndpointWithResponseStream's answer: the chunks a stream model planned (stream-models.ts),
// each sent as one event-stream PayloadPart message at its time, encoded with @smithy/eventstream-codec
// (prelude and message CRC32) as the service frames them; and the mid-stream faults. The request's
// log entry records when the first and the last part went out, so a test can hold a client's
// time-to-first-byte against the truth.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { crc32 } from 'node:zlib';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import type { MessageHeaders } from '@smithy/types';
import { sleepUnlessClosed } from './http-util.js';
import type { Random } from './prng.js';
import { checkStreamSpec, planStream, type StreamSpec } from './stream-models.js';

export type StreamFaultType = 'model-stream-error' | 'internal-stream-failure' | 'error-message' | 'cut' | 'bad-crc' | 'stall';
export const STREAM_FAULT_TYPES: readonly StreamFaultType[] = ['model-stream-error', 'internal-stream-failure', 'error-message', 'cut', 'bad-crc', 'stall'];

export interface StreamFault {
  type: StreamFaultType;
  /** Parts sent before the fault (default: half of the stream's). */
  afterParts?: number;
  /** Directive only: the fault on the first N attempts of this body (omitted: every attempt). */
  times?: number;
  /** model-stream-error: the ErrorCode (default ModelInvocationTimeExceeded); error-message: the :error-code. */
  errorCode?: string;
  message?: string;
}

export interface RandomStreamFault extends StreamFault {
  /** Probability in [0, 1] per streamed request. */
  rate: number;
}

/** What the log says of a streamed answer. */
export interface StreamLog {
  /** The parts sent and their payload bytes. */
  parts: number;
  bytes: number;
  /** Epoch ms (sub-ms precision) when the first and the last part was handed to the socket. */
  firstPartAt?: number;
  lastPartAt?: number;
  /** The first part's time, ms since the request arrived (its head). */
  firstPartMs?: number;
  /** Token models: the tokens generated, and the prompt's. */
  completionTokens: number;
  promptTokens: number;
  fault?: StreamFaultType;
}

const toUtf8 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
const codec = new EventStreamCodec(toUtf8, (s) => Buffer.from(s, 'utf8'));
const s = (value: string) => ({ type: 'string' as const, value });
const PART_HEADERS: MessageHeaders = { ':event-type': s('PayloadPart'), ':content-type': s('application/octet-stream'), ':message-type': s('event') };

/** PART_HEADERS as the codec formats them: the same bytes in every part, formatted once. */
const PART_HEADER_BYTES = Buffer.from(codec.formatHeaders(PART_HEADERS));

/**
 * One PayloadPart message: what codec.encode() gives for PART_HEADERS (test/unit/emulator checks it
 * byte for byte), with the formatted headers kept and CRC32 from node:zlib, since the emulator sends
 * tens of thousands of parts a second in the benchmark.
 */
export function encodePart(bytes: Uint8Array): Buffer {
  const h = PART_HEADER_BYTES;
  const length = 16 + h.length + bytes.length;
  const out = Buffer.allocUnsafe(length);
  out.writeUInt32BE(length, 0);
  out.writeUInt32BE(h.length, 4);
  out.writeUInt32BE(crc32(out.subarray(0, 8)), 8);
  h.copy(out, 12);
  out.set(bytes, 12 + h.length);
  out.writeUInt32BE(crc32(out.subarray(0, length - 4)), length - 4);
  return out;
}

/** The codec's own encoding of a part (the reference encodePart is held to). */
export function codecPart(bytes: Uint8Array): Buffer {
  const m = codec.encode({ headers: PART_HEADERS, body: bytes });
  return Buffer.from(m.buffer, m.byteOffset, m.byteLength);
}

function exceptionMessage(type: string, payload: Record<string, string>): Buffer {
  const headers: MessageHeaders = { ':exception-type': s(type), ':content-type': s('application/json'), ':message-type': s('exception') };
  const m = codec.encode({ headers, body: Buffer.from(JSON.stringify(payload)) });
  return Buffer.from(m.buffer, m.byteOffset, m.byteLength);
}

function errorMessage(code: string, message: string): Buffer {
  const m = codec.encode({ headers: { ':error-code': s(code), ':error-message': s(message), ':message-type': s('error') }, body: new Uint8Array(0) });
  return Buffer.from(m.buffer, m.byteOffset, m.byteLength);
}

/** The message a fault ends the stream with (the exception and error kinds). */
function faultMessage(f: StreamFault, variant: string): Buffer | undefined {
  switch (f.type) {
    case 'model-stream-error':
      return exceptionMessage('ModelStreamError', {
        Message: f.message ?? `Your model ${variant} did not complete sending the inference response in the allotted time.`,
        ErrorCode: f.errorCode ?? 'ModelInvocationTimeExceeded',
      });
    case 'internal-stream-failure':
      return exceptionMessage('InternalStreamFailure', { Message: f.message ?? 'Internal stream failure. Please try again.' });
    case 'error-message':
      return errorMessage(f.errorCode ?? 'InternalServerException', f.message ?? 'An internal error occurred while streaming the response.');
    default:
      return undefined;
  }
}

const wallNow = (): number => performance.timeOrigin + performance.now();

function write(res: ServerResponse, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (res.write(bytes)) resolve();
    else {
      const done = (): void => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.once('drain', done);
      res.once('close', done);
    }
  });
}

function waitUntil(at: number, res: ServerResponse): Promise<void> {
  const ms = at - performance.now();
  return ms <= 0.5 ? Promise.resolve() : sleepUnlessClosed(ms, res);
}

export interface StreamAnswer {
  spec: StreamSpec;
  fault: StreamFault | undefined;
  body: Buffer;
  /** Request headers, lower-case. */
  headers: Readonly<Record<string, string>>;
  random: Random;
  variant: string;
  /** The answer's headers so far (request id, date, variant, custom attributes). */
  base: OutgoingHttpHeaders;
  /** performance.now() when the request arrived. */
  arrivedAt: number;
  log: StreamLog;
}

/** Sends the stream; resolves when it ended (or the client went away). */
export async function serveStream(req: IncomingMessage, res: ServerResponse, a: StreamAnswer): Promise<void> {
  const plan = planStream(a.spec, { body: a.body, headers: a.headers, random: a.random });
  const log = a.log;
  log.completionTokens = plan.completionTokens;
  log.promptTokens = plan.promptTokens;
  res.writeHead(200, { ...a.base, 'Content-Type': 'application/vnd.amazon.eventstream', 'X-Amzn-SageMaker-Content-Type': plan.contentType });
  res.flushHeaders();
  const faultAt = a.fault ? Math.min(plan.chunks.length, a.fault.afterParts ?? Math.floor(plan.chunks.length / 2)) : -1;
  if (a.fault) log.fault = a.fault.type;
  let at = performance.now();
  for (let i = 0; i <= plan.chunks.length; i++) {
    if (res.destroyed) return;
    if (i === faultAt && a.fault!.type !== 'bad-crc') {
      await endWithFault(req, res, a.fault!, a.variant);
      return;
    }
    const chunk = plan.chunks[i];
    if (chunk === undefined) break;
    at += chunk.delayMs;
    await waitUntil(at, res);
    if (res.destroyed) return;
    const message = encodePart(chunk.bytes);
    if (i === faultAt) message[message.length - 1]! ^= 0xff; // bad-crc: the message CRC no longer matches
    const sentAt = wallNow();
    if (log.parts === 0) {
      log.firstPartAt = sentAt;
      log.firstPartMs = Math.round((performance.now() - a.arrivedAt) * 10) / 10;
    }
    log.lastPartAt = sentAt;
    log.parts++;
    log.bytes += chunk.bytes.length;
    await write(res, message);
  }
  res.end();
}

async function endWithFault(req: IncomingMessage, res: ServerResponse, f: StreamFault, variant: string): Promise<void> {
  const message = faultMessage(f, variant);
  if (message !== undefined) {
    await write(res, message);
    res.end();
    return;
  }
  if (f.type === 'stall') return; // the socket stays open until the client or close() ends it
  // cut: what was written goes out, then the connection closes without the chunked body's end.
  await new Promise<void>((resolve) => res.write(Buffer.alloc(0), () => resolve()));
  req.socket.destroy();
}

/** The stream directive in a request's `__emulator` object: `stream` (a StreamSpec's keys) and `streamFault`. */
export function streamDirective(d: Record<string, unknown> | undefined): { spec?: Partial<StreamSpec>; fault?: StreamFault } | string {
  if (d === undefined) return {};
  const out: { spec?: Partial<StreamSpec>; fault?: StreamFault } = {};
  if (d.stream !== undefined) {
    const why = checkStreamSpec(d.stream, '__emulator.stream');
    if (why) return why;
    out.spec = d.stream as Partial<StreamSpec>;
  }
  if (d.streamFault !== undefined) {
    const why = checkStreamFault(d.streamFault, '__emulator.streamFault');
    if (why) return why;
    out.fault = d.streamFault as StreamFault;
  }
  return out;
}

export function checkStreamFault(v: unknown, path: string, withRate = false): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return `${path} must be an object`;
  const f = v as Record<string, unknown>;
  if (!STREAM_FAULT_TYPES.includes(f.type as StreamFaultType)) return `${path}.type must be one of ${STREAM_FAULT_TYPES.join(', ')}`;
  const whole = (k: string): boolean => f[k] === undefined || (Number.isInteger(f[k]) && (f[k] as number) >= 0);
  if (!whole('afterParts')) return `${path}.afterParts must be an integer >= 0`;
  if (!whole('times')) return `${path}.times must be an integer >= 0`;
  for (const k of ['errorCode', 'message']) if (f[k] !== undefined && typeof f[k] !== 'string') return `${path}.${k} must be a string`;
  if (withRate && !(typeof f.rate === 'number' && f.rate >= 0 && f.rate <= 1)) return `${path}.rate must be a number in [0, 1]`;
  return undefined;
}

/** An endpoint's stream config (`stream`, `streamFaults`): the first problem, or undefined. */
export function checkStreamConfig(e: Record<string, unknown>, path: string): string | undefined {
  if (e.stream !== undefined) {
    const why = checkStreamSpec(e.stream, `${path}.stream`);
    if (why) return why;
  }
  if (e.streamFaults !== undefined) {
    if (!Array.isArray(e.streamFaults)) return `${path}.streamFaults must be an array`;
    for (let i = 0; i < e.streamFaults.length; i++) {
      const why = checkStreamFault(e.streamFaults[i], `${path}.streamFaults[${i}]`, true);
      if (why) return why;
    }
  }
  return undefined;
}

/** The stream fault of one request: the directive's (within its `times`), else a random one. */
export function pickStreamFault(
  directed: StreamFault | undefined,
  attempt: number,
  random: RandomStreamFault[] | undefined,
  draw: Random,
): StreamFault | undefined {
  if (directed !== undefined) return directed.times === undefined || attempt <= directed.times ? directed : undefined;
  for (const rule of random ?? []) if (draw() < rule.rate) return rule;
  return undefined;
}
