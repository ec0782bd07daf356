// The options of response streaming (--stream, its timeouts and its byte cap): parsed and checked
// here, each with a usage error that names the option and what it allows.
import { DEFAULT_STREAM_IDLE_TIMEOUT_MS, DEFAULT_STREAM_TIMEOUT_MS } from '../constants.js';
import { UsageError } from '../errors.js';
import type { FieldValues } from '../core/fields.js';
import type { StreamSettings } from '../core/stream-invoke.js';
import { streamRefusal } from '../core/stream-request.js';

type Values = Record<string, string | boolean | undefined>;

export const STREAM_FLAG_SPEC = {
  stream: { type: 'boolean' },
  'stream-idle-timeout': { type: 'string' },
  'stream-timeout': { type: 'string' },
  'max-stream-mib': { type: 'string' },
} as const;

export interface StreamOptions {
  /** --stream: every record (unless its envelope says "stream": false) is sent as InvokeEndpointWithResponseStream. */
  stream: boolean;
  streamSettings: StreamSettings;
}

function seconds(name: string, text: string | undefined, fallbackMs: number): number {
  if (text === undefined) return fallbackMs;
  if (!/^\d+(\.\d+)?$/.test(text)) throw new UsageError(`${name} must be a number of seconds (0 = no limit), got ${JSON.stringify(text)}`);
  return Math.round(Number(text) * 1000);
}

/** The streaming options; `maxBufferBytes` is --max-buffer-mib's bound (--max-stream-mib's default). */
export function streamOptions(v: Values, m: { envelope: boolean; defaults: FieldValues; batch: boolean; maxBufferBytes: number }): StreamOptions {
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const stream = v.stream === true;
  let maxStreamBytes = m.maxBufferBytes;
  const cap = str('max-stream-mib');
  if (cap !== undefined) {
    if (!/^\d+$/.test(cap) || Number(cap) < 1 || Number(cap) > 1 << 20) {
      throw new UsageError(`--max-stream-mib must be a whole number from 1 to ${1 << 20}, got ${JSON.stringify(cap)}`);
    }
    maxStreamBytes = Number(cap) * 1024 * 1024;
  }
  if (stream && m.batch) throw new UsageError('--stream sends one record per request; it does not go with --batch-size');
  if (stream && !m.envelope) {
    // Every record would be refused: say it once.
    const why = streamRefusal(m.defaults);
    if (why !== undefined) throw new UsageError(`--stream: ${why.message.replace(/^(\w+)/, (k) => `--${flagOf(k)}`)}`);
  }
  return {
    stream,
    streamSettings: {
      idleTimeoutMs: seconds('--stream-idle-timeout', str('stream-idle-timeout'), DEFAULT_STREAM_IDLE_TIMEOUT_MS),
      streamTimeoutMs: seconds('--stream-timeout', str('stream-timeout'), DEFAULT_STREAM_TIMEOUT_MS),
      maxStreamBytes,
    },
  };
}

const flagOf = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
