// Pure: argv in, validated options out (or a UsageError). No I/O; the environment and the AWS
// config files are read later (aws/config.ts), where a flag given here wins over them.
import { parseArgs as nodeParseArgs } from 'node:util';
import { DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT_MS, MAX_BODY_BYTES, MAX_CONCURRENCY } from '../constants.js';
import { UsageError } from '../errors.js';
import { FIELDS, checkField, type FieldValues } from '../core/fields.js';
import type { OutputMode } from '../core/result-format.js';
import { parseShard, type Shard } from '../core/shard.js';
import type { RetrySettings } from '../aws/retry-config.js';
import type { BatchOptions } from '../core/batch.js';
import { BATCH_FLAG_SPEC, batchOptions, joinInputOption } from './batch-args.js';
import { LLM_FLAG_SPEC, OUTPUT_MODES, defaultOutput, llmOptions, type LlmOptions } from './llm-args.js';
import { STREAM_FLAG_SPEC, streamOptions, type StreamOptions } from './stream-args.js';
import { suggestOption } from './suggest.js';
import { ASYNC_FLAG_SPEC, asyncOptions, type AsyncCliOptions } from './async-args.js';

export type { OutputMode };

export interface Options extends StreamOptions, LlmOptions {
  /** Per-record defaults from the flags (`--content-type` etc.), already validated. */
  defaults: FieldValues;
  /**
   * The flags given on the command line (long names): a flag wins over the environment and the profile
   * (retry-config.ts reads AWS_MAX_ATTEMPTS and the profile's max_attempts when --max-attempts is absent).
   */
  given: ReadonlySet<string>;
  region: string | undefined;
  profile: string | undefined;
  endpointUrl: string | undefined;
  /** Records in flight at most (with --concurrency auto: the adaptive limit's ceiling). */
  concurrency: number;
  /** --concurrency auto: find the endpoint's capacity (AIMD on throttling and latency). */
  adaptive: boolean;
  /** --rate: attempts per second, smoothly spaced. */
  rate: number | undefined;
  envelope: boolean;
  output: OutputMode;
  /** Positional outfile; undefined or '-' means stdout. */
  outfile: string | undefined;
  /** Per-attempt request timeout; 0 disables it. */
  timeoutMs: number;
  connectTimeoutMs: number;
  maxLineBytes: number;
  /** Bytes of records in flight and results waiting behind a slower earlier record, at most. */
  maxBufferBytes: number;
  maxAttempts: number;
  retryModelErrors: boolean;
  /** Stop after this many failed records; 0 = never. */
  maxErrors: number;
  /** undefined: a status line only when stderr is a terminal. */
  progress: boolean | undefined;
  /** undefined: stats at the end only when stderr is a terminal. */
  stats: boolean | undefined;
  statsJson: string | undefined;
  dryRun: boolean;
  resume: boolean;
  resumeFailed: boolean;
  /** Replace an existing non-empty outfile of sm-invoke results (without it, such a file is a usage error). */
  force: boolean;
  /** --force-any: replace any non-empty outfile, also one that does not hold sm-invoke results. */
  forceAny: boolean;
  /** --input FILE (-i): read the records from FILE; undefined or '-' means stdin. */
  input: string | undefined;
  debug: boolean;
  /** --quiet: nothing on stderr but errors (no hints, notices, progress or stats unless asked for). */
  quiet: boolean;
  /** --body: one invocation, AWS CLI style (literal, file://, fileb://). */
  body: string | undefined;
  /** --shard I/N: only the input lines L with (L - 1) mod N == I (shard.ts). */
  shard: Shard | undefined;
  /** --ca-bundle FILE: the CAs to trust (before AWS_CA_BUNDLE and the profile's ca_bundle). */
  caBundle: string | undefined;
  /** --no-verify-ssl: do not check TLS certificates. */
  noVerifySsl: boolean;
  /** --batch-size N (N > 1) and the other --batch-* options; undefined: one record per request. */
  batch: BatchOptions | undefined;
  /** --join-input: each result carries its record's input. */
  joinInput: boolean;
  /** --async and its options (async-args.ts); undefined: InvokeEndpoint. */
  async: AsyncCliOptions | undefined;
}

export type Command = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; options: Options };

/** Longest input line accepted by default: a 6 MiB body as base64 in an envelope, plus room. */
export const DEFAULT_MAX_LINE_BYTES = Math.ceil((MAX_BODY_BYTES * 4) / 3) + 1024 * 1024;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_MAX_CONCURRENCY = 256;
/** Records in flight plus results waiting behind a slower earlier record: 32 MiB at most. */
export const DEFAULT_MAX_BUFFER_MIB = 32;

export const FLAG_SPEC = {
  ...Object.fromEntries(FIELDS.map((f) => [f.flag, { type: 'string' as const }])),
  region: { type: 'string' },
  profile: { type: 'string' },
  'endpoint-url': { type: 'string' },
  concurrency: { type: 'string' },
  envelope: { type: 'boolean' },
  output: { type: 'string' },
  timeout: { type: 'string' },
  'connect-timeout': { type: 'string' },
  'max-line-bytes': { type: 'string' },
  'max-buffer-mib': { type: 'string' },
  'max-attempts': { type: 'string' },
  'retry-model-errors': { type: 'boolean' },
  'max-errors': { type: 'string' },
  'max-concurrency': { type: 'string' },
  rate: { type: 'string' },
  progress: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  stats: { type: 'boolean' },
  'no-stats': { type: 'boolean' },
  'stats-json': { type: 'string' },
  'dry-run': { type: 'boolean' },
  resume: { type: 'boolean' },
  'resume-failed': { type: 'boolean' },
  force: { type: 'boolean' },
  'force-any': { type: 'boolean' },
  input: { type: 'string', short: 'i' },
  debug: { type: 'boolean' },
  body: { type: 'string' },
  'ca-bundle': { type: 'string' },
  shard: { type: 'string' },
  'no-verify-ssl': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
  quiet: { type: 'boolean', short: 'q' },
  ...BATCH_FLAG_SPEC,
  ...STREAM_FLAG_SPEC,
  ...LLM_FLAG_SPEC,
  ...ASYNC_FLAG_SPEC,
} as const;

/** --async's answers come from S3: the other operations' and the answer readers' flags do not apply. */
function refuseWithAsync<T>(v: Record<string, string | boolean | undefined>, async: T | undefined): T | undefined {
  for (const flag of ['stream', 'prompt', 'llm', 'input-format']) {
    if (async !== undefined && v[flag] !== undefined) {
      throw new UsageError(`--async and --${flag} do not go together: --async sends InvokeEndpointAsync and reads each answer from S3 as it is`);
    }
  }
  return async;
}

/** The run's modes (resume, dry run, --body, --force), checked against each other. */
function modeFlags(
  v: Record<string, string | boolean | undefined>,
  ctx: { envelope: boolean; output: string; outfile: string | undefined },
): { resume: boolean; resumeFailed: boolean; dryRun: boolean; body: string | undefined; force: boolean } {
  const toFile = ctx.outfile !== undefined && ctx.outfile !== '-';
  const resume = v.resume === true;
  const resumeFailed = v['resume-failed'] === true;
  const dryRun = v['dry-run'] === true;
  const body = str(v.body);
  const force = v.force === true || v['force-any'] === true;
  checkModes({ toFile, resume, resumeFailed, dryRun, force, envelope: ctx.envelope, output: ctx.output, body, outfile: ctx.outfile });
  return { resume, resumeFailed, dryRun, body, force };
}

export function parseArgs(argv: readonly string[]): Command {
  // `sm-invoke help`, as git and the AWS CLI take it (a file named help is still ./help).
  if (argv.length === 1 && argv[0] === 'help') return { kind: 'help' };
  let parsed;
  try {
    parsed = nodeParseArgs({ args: [...argv], options: FLAG_SPEC, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(describeParseError(err));
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (v.help) return { kind: 'help' };
  if (v.version) return { kind: 'version' };

  if (parsed.positionals.length > 1) {
    throw new UsageError(`expected at most one outfile, got ${parsed.positionals.length}: ${parsed.positionals.join(' ')}`);
  }

  const defaults = fieldDefaults(v);
  const envelope = v.envelope === true;
  if (!envelope && defaults.endpointName === undefined) {
    throw new UsageError('--endpoint-name is required (or use --envelope with an endpointName in every record)');
  }

  const output = (str(v.output) ?? defaultOutput(v)) as OutputMode;
  if (!OUTPUT_MODES.includes(output)) {
    throw new UsageError(`--output must be one of ${OUTPUT_MODES.map((m) => `"${m}"`).join(', ')}, got ${JSON.stringify(output)}`);
  }

  const { concurrency, adaptive, rate } = admissionOptions(v);

  const outfile = parsed.positionals[0];
  const { resume, resumeFailed, dryRun, body, force } = modeFlags(v, { envelope, output, outfile });
  const bothWays = (on: string, off: string): boolean | undefined => {
    if (v[on] === true && v[off] === true) throw new UsageError(`--${on} and --${off} contradict each other`);
    return v[on] === true ? true : v[off] === true ? false : undefined;
  };

  const maxBufferBytes = intOption('--max-buffer-mib', str(v['max-buffer-mib']), DEFAULT_MAX_BUFFER_MIB, 1, 1 << 20) * 1024 * 1024;
  const batch = batchOptions(v, { output, body });
  const joinInput = joinInputOption(v, { output, body });
  const async = refuseWithAsync(v, asyncOptions(v, { defaults, body, dryRun, joinInput, batch: batch !== undefined, resumeFailed }));
  return {
    kind: 'run',
    options: {
      ...streamOptions(v, { envelope, defaults, batch: batch !== undefined, maxBufferBytes }),
      ...llmOptions(v, { output, envelope, body, batch: batch !== undefined, defaults }),
      defaults: async ? { ...defaults, ...async.fields } : defaults,
      given: new Set(Object.keys(v).filter((k) => v[k] !== undefined)),
      region: str(v.region),
      profile: str(v.profile),
      endpointUrl: checkUrl(str(v['endpoint-url'])),
      concurrency,
      adaptive,
      rate,
      envelope,
      output,
      outfile,
      timeoutMs: secondsOption('--timeout', str(v.timeout), DEFAULT_TIMEOUT_MS),
      connectTimeoutMs: secondsOption('--connect-timeout', str(v['connect-timeout']), DEFAULT_CONNECT_TIMEOUT_MS),
      maxLineBytes: intOption('--max-line-bytes', str(v['max-line-bytes']), DEFAULT_MAX_LINE_BYTES, 16, 1 << 30),
      maxBufferBytes,
      // (AWS_MAX_ATTEMPTS and the profile's max_attempts come after the flag: aws/config.ts.)
      maxAttempts: intOption('--max-attempts', str(v['max-attempts']), DEFAULT_MAX_ATTEMPTS, 1, 100),
      retryModelErrors: v['retry-model-errors'] === true,
      maxErrors: intOption('--max-errors', str(v['max-errors']), 0, 0, Number.MAX_SAFE_INTEGER),
      progress: bothWays('progress', 'no-progress'),
      stats: bothWays('stats', 'no-stats'),
      statsJson: str(v['stats-json']),
      dryRun,
      resume,
      resumeFailed,
      force,
      forceAny: v['force-any'] === true,
      input: str(v.input),
      debug: v.debug === true,
      quiet: v.quiet === true,
      body,
      caBundle: caBundleOption(str(v['ca-bundle'])),
      shard: shardOption(str(v.shard), body),
      noVerifySsl: v['no-verify-ssl'] === true,
      batch,
      joinInput,
      async,
    },
  };
}

type Values = Record<string, string | boolean | undefined>;

/** The per-record fields given as flags (--content-type...), each checked by its API rule. */
function fieldDefaults(v: Values): FieldValues {
  const defaults: FieldValues = {};
  for (const rule of FIELDS) {
    const value = v[rule.flag];
    if (typeof value !== 'string' || value === '') continue; // "" = not set, as in the AWS SDKs
    const problem = checkField(rule, value);
    if (problem) throw new UsageError(`--${rule.flag} ${problem}`);
    defaults[rule.key] = value;
  }
  return defaults;
}

/** --concurrency N|auto (with --max-concurrency) and --rate. */
function admissionOptions(v: Values): { concurrency: number; adaptive: boolean; rate: number | undefined } {
  const concurrencyText = str(v.concurrency);
  const adaptive = concurrencyText === 'auto';
  const maxConcurrency = intOption('--max-concurrency', str(v['max-concurrency']), DEFAULT_MAX_CONCURRENCY, 1, MAX_CONCURRENCY);
  if (v['max-concurrency'] !== undefined && !adaptive) throw new UsageError('--max-concurrency goes with --concurrency auto');
  if (concurrencyText !== undefined && !adaptive && !/^\d+$/.test(concurrencyText)) {
    throw new UsageError(`--concurrency must be a whole number from 1 to ${MAX_CONCURRENCY} or "auto", got ${JSON.stringify(concurrencyText)}`);
  }
  const concurrency = adaptive ? maxConcurrency : intOption('--concurrency', concurrencyText, DEFAULT_CONCURRENCY, 1, MAX_CONCURRENCY);
  const rateText = str(v.rate);
  let rate: number | undefined;
  if (rateText !== undefined) {
    rate = Number(rateText);
    if (!/^\d+(\.\d+)?$/.test(rateText) || !(rate > 0)) {
      throw new UsageError(`--rate must be a number of records per second above 0, got ${JSON.stringify(rateText)}`);
    }
  }
  return { concurrency, adaptive, rate };
}

/** The modes that do not go together: resume without an outfile, --force with resume, --body with a stream run's flags. */
function checkModes(m: {
  toFile: boolean;
  resume: boolean;
  resumeFailed: boolean;
  dryRun: boolean;
  force: boolean;
  envelope: boolean;
  output: string;
  body: string | undefined;
  outfile: string | undefined;
}): void {
  const resuming = m.resume || m.resumeFailed;
  const resumeFlag = m.resumeFailed ? 'resume-failed' : 'resume';
  if (resuming && !m.toFile) throw new UsageError(`--${resumeFlag} needs an outfile to resume (the positional argument)`);
  if (m.resumeFailed && m.output === 'body') throw new UsageError('--resume-failed needs --output result (body lines do not say which records failed)');
  if (resuming && m.dryRun) throw new UsageError('--dry-run cannot resume an outfile');
  if (m.force && resuming) throw new UsageError(`--force replaces the outfile; --${resumeFlag} keeps it: give one of them`);
  if (m.force && !m.toFile) throw new UsageError('--force goes with an outfile (the positional argument): it allows replacing one that is not empty');
  if (m.body === undefined) return;
  if (m.envelope) throw new UsageError('--body sends one request; it does not go with --envelope');
  if (resuming || m.dryRun || m.output !== 'result') throw new UsageError('--body goes with none of --resume, --resume-failed, --dry-run, --output');
  if (m.outfile === undefined) throw new UsageError('--body needs an outfile for the response body (- for stdout), as the AWS CLI does');
}

function str(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function intOption(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got ${text}`);
  return n;
}

function secondsOption(name: string, text: string | undefined, fallbackMs: number): number {
  if (text === undefined) return fallbackMs;
  if (!/^\d+(\.\d+)?$/.test(text)) throw new UsageError(`${name} must be a number of seconds (0 = no limit), got ${JSON.stringify(text)}`);
  return Math.round(Number(text) * 1000);
}

function shardOption(text: string | undefined, body: string | undefined): Shard | undefined {
  if (text === undefined) return undefined;
  const shard = parseShard(text);
  if (typeof shard === 'string') throw new UsageError(shard);
  if (body !== undefined) throw new UsageError('--shard splits a stream of records; it does not go with --body');
  return shard;
}

function caBundleOption(text: string | undefined): string | undefined {
  if (text === '') throw new UsageError('--ca-bundle needs a file name (a PEM file of CA certificates)');
  return text;
}

function checkUrl(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--endpoint-url must be an absolute http(s) URL, got ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--endpoint-url must use http or https, got ${JSON.stringify(text)}`);
  }
  return text;
}

/** node:util parseArgs errors are multi-line with advice for scripts; keep the first line, in our words. */
function describeParseError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const first = (e.message ?? String(err)).split('\n')[0] ?? '';
  const opt = /'([^']+)'/.exec(first)?.[1]?.replace(/ <value>$/, '');
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const hint = opt === undefined ? undefined : suggestOption(opt, Object.keys(FLAG_SPEC));
      return `unknown option ${opt ?? first}${hint ? `: ${hint}` : ''} (see --help)`;
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (first.includes('ambiguous')) return `${opt ?? 'option'} needs a value; write a value that starts with "-" as ${opt ?? '--option'}=VALUE`;
      if (first.includes('argument missing') || first.includes('requires an argument')) return `option ${opt ?? ''} needs a value`;
      return first;
    default:
      return first;
  }
}

/**
 * The run's options with the retry settings applied: the attempt bound, and `adaptive` retry mode read as
 * `--concurrency auto` (the closest thing sm-invoke has to the SDK's client-side rate limiting) unless
 * `--concurrency` was given.
 */
export function applyRetrySettings(opts: Options, s: Pick<RetrySettings, 'maxAttempts' | 'retryMode'>): Options {
  const adaptive = opts.adaptive || (s.retryMode === 'adaptive' && !opts.given.has('concurrency'));
  return {
    ...opts,
    maxAttempts: s.maxAttempts,
    adaptive,
    concurrency: adaptive && !opts.adaptive ? DEFAULT_MAX_CONCURRENCY : opts.concurrency,
  };
}
