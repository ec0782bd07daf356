// The options of many records per request (--batch-*) and --join-input: parsed and checked here,
// each with a usage error that names the option and what it allows.
import { MAX_BODY_BYTES } from '../constants.js';
import { UsageError } from '../errors.js';
import { parsePath, type BatchOptions } from '../core/batch.js';

type Values = Record<string, string | boolean | undefined>;

export const BATCH_FLAG_SPEC = {
  'batch-size': { type: 'string' },
  'batch-bytes': { type: 'string' },
  'batch-format': { type: 'string' },
  'batch-wrap': { type: 'string' },
  'batch-unwrap': { type: 'string' },
  'batch-linger': { type: 'string' },
  'batch-split-on-error': { type: 'boolean' },
  'no-batch-split-on-error': { type: 'boolean' },
  'join-input': { type: 'boolean' },
} as const;

export const MAX_BATCH_SIZE = 100_000;
export const DEFAULT_BATCH_LINGER_MS = 20;

function whole(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

function path(name: string, text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const keys = parsePath(text);
  if (keys === undefined)
    throw new UsageError(`${name} must be a key or a dotted path of keys (e.g. instances, outputs.predictions), got ${JSON.stringify(text)}`);
  return keys;
}

/** The batch options; undefined for one record per request (--batch-size 1, the default). */
export function batchOptions(v: Values, m: { output: string; body: string | undefined }): BatchOptions | undefined {
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const size = whole('--batch-size', str('batch-size'), 1, 1, MAX_BATCH_SIZE);
  const format = str('batch-format') ?? 'lines';
  if (format !== 'lines' && format !== 'json') throw new UsageError(`--batch-format must be "lines" or "json", got ${JSON.stringify(format)}`);
  if (v['batch-split-on-error'] === true && v['no-batch-split-on-error'] === true) {
    throw new UsageError('--batch-split-on-error and --no-batch-split-on-error contradict each other');
  }
  const wrap = path('--batch-wrap', str('batch-wrap'));
  const unwrap = path('--batch-unwrap', str('batch-unwrap'));
  if (format !== 'json') {
    const given = wrap !== undefined ? '--batch-wrap' : unwrap !== undefined ? '--batch-unwrap' : undefined;
    if (given !== undefined) throw new UsageError(`${given} goes with --batch-format json`);
  }
  const bytes = whole('--batch-bytes', str('batch-bytes'), MAX_BODY_BYTES, 1, MAX_BODY_BYTES);
  const lingerMs = whole('--batch-linger', str('batch-linger'), DEFAULT_BATCH_LINGER_MS, 0, 60_000);
  if (size === 1) {
    const other = Object.keys(BATCH_FLAG_SPEC).find((k) => k !== 'batch-size' && k !== 'join-input' && v[k] !== undefined);
    if (other !== undefined) throw new UsageError(`--${other} goes with --batch-size N (N of 2 or more records per request)`);
    return undefined;
  }
  if (m.body !== undefined) throw new UsageError('--body sends one request; it does not go with --batch-size');
  return { size, bytes, format, wrap, unwrap, lingerMs, splitOnError: v['no-batch-split-on-error'] !== true };
}

/** --join-input: each result carries its record's input; a result line is needed to carry it. */
export function joinInputOption(v: Values, m: { output: string; body: string | undefined }): boolean {
  if (v['join-input'] !== true) return false;
  if (m.output !== 'result') throw new UsageError('--join-input needs --output result (a body line has no place for the input)');
  if (m.body !== undefined) throw new UsageError('--join-input goes with a stream of records, not --body');
  return true;
}
