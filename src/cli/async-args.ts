// The --async options: parsed and checked here, each with a usage error that names the option and
// what it allows. The InvokeEndpointAsync members given as flags (--request-ttl-seconds...) become
// per-record defaults like --content-type does.
import { UsageError } from '../errors.js';
import { checkField, type FieldValues } from '../core/fields.js';
import { ASYNC_FIELDS, NOT_ASYNC } from '../core/async/fields.js';
import { DEFAULT_POLL } from '../core/async/poll.js';
import type { AsyncOptions } from '../core/async/setup.js';
import { parseS3Uri } from '../aws/s3-config.js';

type Values = Record<string, string | boolean | undefined>;

export const ASYNC_FLAG_SPEC = {
  async: { type: 'boolean' },
  'async-input': { type: 'string' },
  'async-input-mode': { type: 'string' },
  'async-max-pending': { type: 'string' },
  'async-timeout': { type: 'string' },
  'async-poll': { type: 'string' },
  'async-cleanup': { type: 'string' },
  's3-endpoint-url': { type: 'string' },
  's3-path-style': { type: 'boolean' },
  'request-ttl-seconds': { type: 'string' },
  'invocation-timeout-seconds': { type: 'string' },
  's3-output-path-extension': { type: 'string' },
  filename: { type: 'string' },
} as const;

export const DEFAULT_MAX_PENDING = 1_000;
export const MAX_MAX_PENDING = 100_000;

export interface AsyncCliOptions extends AsyncOptions {
  s3EndpointUrl: string | undefined;
  s3PathStyle: boolean;
  /** The InvokeEndpointAsync members given as flags. */
  fields: FieldValues;
}

const FIELD_FLAGS = ASYNC_FIELDS.filter((f) => f.key !== 'inputLocation');

/** The --async options; undefined without --async (then none of them may be given). */
export function asyncOptions(
  v: Values,
  m: { defaults: FieldValues; body: string | undefined; dryRun: boolean; joinInput: boolean; batch: boolean; resumeFailed: boolean },
): AsyncCliOptions | undefined {
  const given = Object.keys(ASYNC_FLAG_SPEC).filter((k) => k !== 'async' && v[k] !== undefined);
  if (v.async !== true) {
    if (given.length > 0) throw new UsageError(`--${given[0]} goes with --async (InvokeEndpointAsync)`);
    return undefined;
  }
  if (m.body !== undefined) throw new UsageError('--async sends a stream of records; it does not go with --body');
  if (m.dryRun) throw new UsageError('--dry-run does not go with --async');
  if (m.batch) throw new UsageError('--async sends one record per request; it does not go with --batch-size');
  if (m.joinInput) throw new UsageError('--join-input does not go with --async (pending records hold their locations, not their inputs)');
  if (m.defaults.inferenceId !== undefined) {
    throw new UsageError('--inference-id with --async would give every record the same output object: give each record its own inferenceId (--envelope)');
  }
  for (const key of NOT_ASYNC) {
    if (m.defaults[key] !== undefined)
      throw new UsageError(`--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is not a member of InvokeEndpointAsync (--async)`);
  }
  const fields: FieldValues = {};
  for (const rule of FIELD_FLAGS) {
    const value = v[rule.flag];
    if (typeof value !== 'string' || value === '') continue;
    const problem = checkField(rule, value);
    if (problem) throw new UsageError(`--${rule.flag} ${problem}`);
    fields[rule.key] = value;
  }
  if (fields.filename !== undefined && !fields.filename.includes('{line}')) {
    throw new UsageError(
      '--filename would name every record\'s output the same: put {line} in it (e.g. --filename "out-{line}.json"), or give each record its own filename',
    );
  }
  const mode = str(v['async-input-mode']) ?? 'auto';
  if (mode !== 'inline' && mode !== 's3' && mode !== 'auto') throw new UsageError(`--async-input-mode must be inline, s3 or auto, got ${JSON.stringify(mode)}`);
  const inputPrefix = prefixOption(str(v['async-input']));
  if (mode === 's3' && inputPrefix === undefined)
    throw new UsageError('--async-input-mode s3 needs --async-input s3://bucket/prefix/ (where the inputs are uploaded)');
  if (mode === 'inline' && inputPrefix !== undefined) throw new UsageError('--async-input-mode inline uploads nothing: drop --async-input, or use auto or s3');
  const cleanup = str(v['async-cleanup']) ?? 'none';
  if (cleanup !== 'inputs' && cleanup !== 'all' && cleanup !== 'none') {
    throw new UsageError(
      `--async-cleanup must be inputs (delete the uploaded inputs) or all (also the output and failure objects read), got ${JSON.stringify(cleanup)}`,
    );
  }
  const pollMin = seconds('--async-poll', str(v['async-poll']), DEFAULT_POLL.minMs / 1000, 0.01, 3600);
  return {
    inputMode: mode,
    inputPrefix,
    maxPending: whole('--async-max-pending', str(v['async-max-pending']), DEFAULT_MAX_PENDING, 1, MAX_MAX_PENDING),
    poll: { minMs: Math.round(pollMin * 1000), maxMs: Math.max(DEFAULT_POLL.maxMs, Math.round(pollMin * 1000)) },
    timeoutMs: v['async-timeout'] === undefined ? undefined : Math.round(seconds('--async-timeout', str(v['async-timeout']), 0, 0.01, 86_400 * 7) * 1000),
    cleanup,
    resendUnconfirmed: m.resumeFailed,
    s3EndpointUrl: urlOption(str(v['s3-endpoint-url'])),
    s3PathStyle: v['s3-path-style'] === true,
    fields,
  };
}

function str(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function whole(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

function seconds(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || n < min || n > max)
    throw new UsageError(`${name} must be a number of seconds from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return n;
}

/** --async-input: `s3://bucket/` or `s3://bucket/prefix/` (a missing final slash is added). */
function prefixOption(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const p = parseS3Uri(text);
  if (p === undefined) throw new UsageError(`--async-input must be an s3://bucket/prefix/ URI, got ${JSON.stringify(text)}`);
  const key = p.key === '' || p.key.endsWith('/') ? p.key : `${p.key}/`;
  return `s3://${p.bucket}/${key}`;
}

function urlOption(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (!/^https?:\/\/[^/]/.test(text)) throw new UsageError(`--s3-endpoint-url must be an absolute http(s) URL, got ${JSON.stringify(text)}`);
  return text;
}
