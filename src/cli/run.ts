// One run, in-process: options and the process's streams in, an exit code out. main.ts calls it
// with the real process; tests may call it with their own streams.
import fs from 'node:fs';
import { UsageError } from '../errors.js';
import { AdaptiveConcurrency, DynamicSemaphore, RateLimiter } from '../core/limiter.js';
import { readLines } from '../core/lines.js';
import { newSummary, ResumeMismatch, runPipeline, type Admission, type Summary } from '../core/pipeline.js';
import { parseTarget } from '../core/request.js';
import { formatStats, meanBatchSize, type StatsSnapshot } from '../core/stats.js';
import { VERSION } from '../version.js';
import { createTransport } from '../http/transport.js';
import type { Options } from './args.js';
import { setupAws, type AwsSetup } from './aws-setup.js';
import { formatAttempt } from './debug.js';
import { openInput } from './input-file.js';
import { checkInputShape } from './input-shape.js';
import { llmDecode, llmJob, llmStatsLines, llmStatsJson } from './llm-run.js';
import type { LlmStats } from '../core/llm/llm-stats.js';
import { formatEndSummary, STATS_FAILED_LINES, statsJsonDocument } from './end-report.js';
import { EXIT_FATAL, EXIT_OK, EXIT_RECORD_ERRORS, EXIT_TOO_MANY_ERRORS } from './exit-codes.js';
import { boundHeap } from './heap.js';
import type { Io } from './io.js';
import { checkFiles, OutputTarget, type FileChecks } from './output-target.js';
import { GRACE_MS, Stops } from './signals.js';
import { singleCall, singleFatal, type SingleCall } from './single.js';
import { shardDone, shardSetup } from './shard-run.js';
import type { LineCount } from './shard-file.js';
import { Stderr } from './stderr.js';
import { ASYNC_FIELD_BY_KEY, finishAsync, setupAsync, type AsyncRun } from './async-run.js';

/** Everything a run set up, for reporting its end. */
interface Run {
  opts: Options;
  io: Io;
  stderr: Stderr;
  checks: FileChecks;
  aws: AwsSetup;
  output: OutputTarget;
  stops: Stops;
  single: SingleCall | undefined;
  summary: Summary;
  adaptive: AdaptiveConcurrency | undefined;
  /** --llm: the run's token and timing figures. */
  llmStats?: LlmStats | undefined;
  /** --shard: the input's lines, counted as read. */
  lineCount?: LineCount | undefined;
  /** --input FILE (a regular file): its size, for --progress. */
  inputBytes?: number | undefined;
  /** --async: the journal and the S3 client. */
  async?: AsyncRun | undefined;
}

export async function run(given: Options, processIo: Io): Promise<number> {
  const stderr = new Stderr(processIo, given.quiet);
  const isSingle = given.body !== undefined;
  const { io, input } = openInput(given, processIo);
  const checks = checkFiles(given, io, isSingle, input, (line) => stderr.note(line));
  if (checks.stdinIsTerminal) stderr.note('reading records from the terminal, one per line (Ctrl-D ends); to read a file: sm-invoke ... < FILE');
  const aws = await setupAws(given, io, stderr);
  const opts = aws.options;
  const lineCount = shardSetup(opts, checks.outPath);
  const asyncRun = await setupAsync(opts, io, checks.outPath, aws, stderr);
  const output = await OutputTarget.open(opts, io, checks.outPath, isSingle, stderr);
  const stops = new Stops(io, () => {
    // A second signal: leave now, with what is already complete.
    if (!output.readerGone && output.writeError === undefined) output.writer.flush();
    stderr.clear();
  });
  output.onFailure = () => stops.now();
  const r: Run = {
    opts,
    io,
    stderr,
    checks,
    aws,
    output,
    stops,
    single: isSingle ? singleCall(opts, io) : undefined,
    summary: newSummary(io.now()),
    adaptive: undefined,
    lineCount,
    inputBytes: input?.stat.isFile() ? input.stat.size : undefined,
    async: asyncRun,
  };
  try {
    await invokeAll(r);
  } finally {
    stops.dispose();
  }
  await output.finish(r.summary.written, stops.deadline, io.now);
  const code = report(r);
  if (lineCount !== undefined && (code === EXIT_OK || code === EXIT_RECORD_ERRORS) && !output.readerGone) {
    shardDone(opts, checks.outPath, lineCount, r.summary.records);
  }
  return code;
}

/** The records through the pipeline, with progress, debug, admission control and a bounded heap. */
async function invokeAll(r: Run): Promise<void> {
  const { opts, io, stderr, output, summary } = r;
  const admission = admissionFor(opts, io, r);
  const snapshot = (): StatsSnapshot => statsSnapshot(r);
  const input = r.lineCount ? r.lineCount.count(readLines(io.stdin, opts.maxLineBytes)) : readLines(io.stdin, opts.maxLineBytes);
  const lines =
    r.single === undefined && opts.prompt === undefined && opts.inputFormat === undefined
      ? await checkInputShape(input, {
          envelope: opts.envelope,
          maxErrorsGiven: opts.given.has('max-errors'),
          interactive: r.checks.stdinIsTerminal,
          contentTypeGiven: opts.defaults.contentType !== undefined,
          warn: (line) => stderr.note(line),
          // On a terminal (someone trying it out); off it, a pipeline or cron job stays as it was.
          hint: (line) => {
            if (stderr.tty) stderr.note(line);
          },
        })
      : input;
  if (r.single === undefined && (opts.progress ?? (stderr.tty && !opts.quiet))) {
    // Results going to the same terminal: results still in the writer go out before the status
    // line is drawn again, and a write clears it first, so the two never share a line.
    const totalBytes = r.inputBytes ?? stdinFileSize(io);
    stderr.startProgress(
      snapshot,
      () => ({ bytesRead: summary.bytesIn, ...(totalBytes !== undefined ? { totalBytes } : {}) }),
      resultsOnTerminal(r) ? () => output.writer.flush() : undefined,
    );
  }
  const transport = createTransport(opts.concurrency, r.aws.network.transport);
  // Flat, small memory however long stdin is (see heap.ts).
  const unboundHeap = boundHeap({ meanRecordBytes: () => (summary.records > 0 ? summary.bytesIn / summary.records : 0) });
  const onTerminal = resultsOnTerminal(r);
  try {
    await runPipeline({
      lines,
      ...(r.single ? { records: r.single.records, onResult: (x) => r.single!.onResult(x) } : {}),
      decode: {
        envelope: opts.envelope,
        defaults: opts.defaults,
        maxLineBytes: opts.maxLineBytes,
        joinInput: opts.joinInput,
        shard: opts.shard,
        stream: opts.stream,
        ...llmDecode(opts),
        ...(r.async ? { extraFields: ASYNC_FIELD_BY_KEY } : {}),
      },
      llm: llmJob(r),
      stream: { send: transport.sendStream, settings: opts.streamSettings, observe: r.single?.observe },
      concurrency: opts.concurrency,
      target: parseTarget(r.aws.target.url),
      sign: r.aws.sign,
      send: transport.send,
      refreshCredentials: r.aws.refreshCredentials,
      output: opts.output,
      write: (text) => {
        if (onTerminal) stderr.clear();
        return output.write(text);
      },
      // A record's failure (--output body: `line N: Code: message`) is an error; the rest are notices.
      warn: (line) => (/^line \d+: /.test(line) ? stderr.say(line) : stderr.note(line)),
      maxAttempts: opts.maxAttempts,
      retryModelErrors: opts.retryModelErrors,
      timeoutMs: opts.timeoutMs,
      connectTimeoutMs: opts.connectTimeoutMs,
      maxErrors: opts.maxErrors,
      stop: r.stops.signal,
      graceMs: GRACE_MS,
      now: io.now,
      summary,
      admission,
      dryRun: opts.dryRun,
      maxBufferBytes: opts.maxBufferBytes,
      batch: opts.batch,
      joinInput: opts.joinInput,
      async: r.async?.setup,
      ...(opts.debug ? { onAttempt: (a) => stderr.write(formatAttempt(a)) } : {}),
      ...(output.resume ? { resume: output.resume } : {}),
      ...(output.digests ? { seen: output.digests.seen } : {}),
    });
    output.dropTornLine();
  } catch (err) {
    if (!(err instanceof ResumeMismatch)) throw err;
    // --resume-failed: the results so far went to the temporary file; the outfile was not touched.
    output.abandon();
    throw new UsageError(`--${opts.resumeFailed ? 'resume-failed' : 'resume'}: ${err.message}; nothing was changed in ${output.outPath}`);
  } finally {
    transport.close();
    unboundHeap();
    stderr.stopProgress();
  }
}

function admissionFor(opts: Options, io: Io, r: Run): Admission {
  const admission: Admission = {};
  if (opts.adaptive) {
    const a = new AdaptiveConcurrency({ min: 1, max: opts.concurrency });
    r.adaptive = a;
    admission.adaptive = a;
    admission.semaphore = new DynamicSemaphore(() => a.limit);
  }
  if (opts.rate !== undefined) admission.rate = new RateLimiter(opts.rate, io.now, sleepFor);
  return admission;
}

/** Results and the status line share a terminal. */
function resultsOnTerminal(r: Run): boolean {
  return r.stderr.tty && r.output.isStdout && r.io.stdout.isTTY === true;
}

function stdinFileSize(io: Io): number | undefined {
  if (io.stdinFd !== 0) return undefined;
  try {
    const st = fs.fstatSync(0);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

function statsSnapshot(r: Run): StatsSnapshot {
  const { summary, io, adaptive, opts } = r;
  const wallMs = Math.max(1, io.now() - summary.startedAt);
  const done = summary.ok + summary.failed;
  const l = summary.latency;
  const snap: StatsSnapshot = {
    records: summary.records,
    ok: summary.ok,
    failed: summary.failed,
    skipped: Math.max(0, summary.records - summary.resumed - done),
    resumed: summary.resumed,
    inFlight: summary.inFlight,
    attempts: summary.attempts,
    retries: summary.retries,
    throttles: summary.throttles,
    wallMs,
    recordsPerSecond: (done * 1000) / wallMs,
    latencyMs: { p50: l.quantile(0.5), p90: l.quantile(0.9), p99: l.quantile(0.99), max: l.count > 0 ? l.max : undefined },
  };
  if (adaptive) snap.concurrency = adaptive.limit;
  if (opts.batch) snap.meanBatchSize = meanBatchSize(summary);
  if (summary.async) {
    const c = r.async?.store.counts;
    snap.async = { ...summary.async, s3Requests: c ? c.put + c.head + c.get + c.delete : 0 };
  }
  return snap;
}

/** The stats (text and JSON, from one snapshot), the end-of-run summary, the messages of an early stop, and the exit code. */
function report(r: Run): number {
  const { opts, stderr, output, summary } = r;
  if (r.single?.writeError !== undefined) output.writeError ??= r.single.writeError;
  const final = statsSnapshot(r);
  if (opts.stats ?? (stderr.tty && r.single === undefined && !opts.quiet))
    r.io.stderr.write([formatStats(final), ...llmStatsLines(r, final.wallMs)].join('\n') + '\n');
  sayEndSummary(r, final);
  if (r.async) finishAsync(r.async, summary, output.outPath, stderr);
  const code = endMessages(r);
  if (!writeStatsJson(r, final, code) && output.writeError === undefined && summary.fatal === undefined && r.stops.exitCode === undefined) return EXIT_FATAL;
  return code;
}

/** Off the terminal too: what failed, where the results are, what to do (nothing for a clean run). */
function sayEndSummary(r: Run, final: StatsSnapshot): void {
  if (r.single !== undefined || r.output.readerGone) return;
  const stoppedEarly = r.output.writeError !== undefined || r.summary.stoppedBy !== undefined || r.stops.exitCode !== undefined;
  const lines = formatEndSummary({
    summary: r.summary,
    final,
    outPath: r.output.outPath,
    output: r.opts.output,
    stoppedEarly,
    dryRun: r.opts.dryRun,
  });
  for (const line of lines) r.stderr.say(line);
}

/** The messages of an early stop, and the exit code. */
function endMessages(r: Run): number {
  const { opts, stderr, output, summary } = r;
  const plural = (n: number): string => `${n} result${n === 1 ? '' : 's'}`;
  /** How to go on after an early stop. */
  const next = (): void => {
    if (r.single !== undefined) return;
    if (output.outPath !== undefined)
      stderr.say(
        `  to continue, run the same command with --resume${opts.resumeFailed ? '-failed' : ''} ${output.outPath} (records already answered are not sent again)`,
      );
    else stderr.say('  the results went to standard output: to be able to continue a stopped run, give an outfile and then --resume');
  };
  if (output.writeError !== undefined) {
    const e = output.writeError;
    const name = r.single !== undefined && opts.outfile !== '-' ? opts.outfile! : output.name;
    stderr.say(`fatal: cannot write results to ${name}: ${e.code ?? 'EIO'}: ${e.message.replace(/^[A-Z]+: /, '')}`);
    // (Results handed to the writer are not all written: count those the destination took.)
    const written = r.single !== undefined ? summary.written : output.resultsWritten();
    stderr.say(`  stopped after ${plural(written)}${output.keptOriginal ? `; ${output.outPath} was left as it was` : ''}`);
    next();
    return EXIT_FATAL;
  }
  if (output.readerGone) return EXIT_OK;
  if (summary.fatal) {
    const f = summary.fatal;
    const cli = r.single !== undefined ? singleFatal(f, r.aws.target.url, opts, r.io) : undefined;
    if (cli !== undefined) return cli;
    // AWS's InvalidSignatureException message carries the canonical request after a blank line.
    stderr.say(`fatal: ${f.message.split('\n')[0]}`);
    if (f.hint) stderr.say(`  ${f.hint}${/region/.test(f.hint) ? ` (region ${r.aws.target.region} from ${r.aws.target.regionSource})` : ''}`);
    if (r.single === undefined) stderr.say(`  stopped after ${plural(summary.written)} (written in input order); no further records were sent`);
    next();
    return EXIT_FATAL;
  }
  if (r.single?.exitCode !== undefined) return r.single.exitCode;
  if (r.stops.exitCode !== undefined) {
    stderr.say(`interrupted: ${summary.written} results written in input order`);
    next();
    return r.stops.exitCode;
  }
  if (summary.stoppedBy === 'max-errors') {
    stderr.say(`stopped after ${summary.failed} failed records (--max-errors ${opts.maxErrors}); ${summary.written} results written`);
    next();
    return EXIT_TOO_MANY_ERRORS;
  }
  if (output.failedBefore > 0) stderr.say(`${output.failedBefore} of the records answered before this run had failed (--resume-failed sends them again)`);
  return summary.failed + output.failedBefore > 0 ? EXIT_RECORD_ERRORS : EXIT_OK;
}

/** Rewrites --stats-json (opened at the start); false when that failed. */
function writeStatsJson(r: Run, final: StatsSnapshot, exitCode: number): boolean {
  const { checks, output, summary, opts, stderr } = r;
  if (checks.statsFd === undefined) return true;
  try {
    const doc = statsJsonDocument({
      llm: llmStatsJson(r, final.wallMs),
      final,
      summary,
      version: VERSION,
      startedAt: summary.startedAt,
      endedAt: r.io.now(),
      exitCode,
      endpointUrl: r.aws.target.url,
      concurrency: r.adaptive?.limit ?? opts.concurrency,
      adaptive: r.adaptive !== undefined,
      outPath: output.outPath,
      stoppedBy: output.writeError !== undefined ? 'write-error' : (summary.stoppedBy ?? null),
      fatal: output.writeError !== undefined ? (output.writeError.code ?? 'WriteError') : (summary.fatal?.code ?? null),
    });
    addFailuresBefore(doc, output);
    fs.ftruncateSync(checks.statsFd, 0);
    fs.writeSync(checks.statsFd, JSON.stringify(doc) + '\n');
    fs.closeSync(checks.statsFd);
    return true;
  } catch (err) {
    stderr.say(`cannot write --stats-json ${opts.statsJson}: ${(err as Error).message}`);
    return false;
  }
}

/**
 * --resume: the failures already in the outfile count too (the exit status counts them): in `failed`,
 * `failuresByCode` and `firstFailedLines` (they come first: they are earlier in the input), and on
 * their own as `failedBefore`.
 */
function addFailuresBefore(doc: Record<string, unknown>, output: OutputTarget): void {
  const before = output.failedBefore;
  doc.failedBefore = before;
  if (before === 0) return;
  doc.failed = (doc.failed as number) + before;
  const byCode = doc.failuresByCode as Record<string, number>;
  for (const [code, n] of output.failuresBefore?.byCode ?? []) byCode[code] = (byCode[code] ?? 0) + n;
  doc.firstFailedLines = [...(output.failuresBefore?.firstLines ?? []), ...(doc.firstFailedLines as number[])].slice(0, STATS_FAILED_LINES);
}

function sleepFor(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('aborted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
