// The only module that touches `process`: argv, env, stdin/stdout/stderr, signals, exit codes.
// Heavy modules (credential chain, signer, HTTP) are imported only for a real run, so
// `--help` and `--version` start as fast as Node itself.
import { applyRetrySettings, parseArgs, type Options } from './args.js';
import {
  EXIT_FATAL, EXIT_OK, EXIT_RECORD_ERRORS, EXIT_SIGINT, EXIT_SIGTERM, EXIT_TOO_MANY_ERRORS, EXIT_USAGE, UsageError,
} from '../errors.js';
import { VERSION } from '../version.js';

const GRACE_MS = 5_000;

/** One line to stderr (replaced during a run so that it clears the progress line first). */
let say = (line: string): void => {
  process.stderr.write(`sm-invoke: ${line}\n`);
};

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'emulate') {
    const { runEmulatorCli } = await import('../emulator/cli.js');
    return runEmulatorCli(argv.slice(1));
  }
  const command = parseArgs(argv, process.env);
  if (command.kind === 'help') {
    const { HELP } = await import('./help.js');
    process.stdout.write(HELP);
    return EXIT_OK;
  }
  if (command.kind === 'version') {
    process.stdout.write(`sm-invoke ${VERSION}\n`);
    return EXIT_OK;
  }
  return run(command.options);
}

async function run(opts: Options): Promise<number> {
  const [{ resolveTarget }, { createSigner }, { createTransport }, pipeline, { readLines }, { parseTarget }, { BatchWriter }, fs, limiter, stats, resumeMod, heap, outfile] =
    await Promise.all([
      import('../aws/config.js'),
      import('../aws/sign.js'),
      import('../http/transport.js'),
      import('../core/pipeline.js'),
      import('../core/lines.js'),
      import('../core/request.js'),
      import('./writer.js'),
      import('node:fs'),
      import('../core/limiter.js'),
      import('../core/stats.js'),
      import('./resume-file.js'),
      import('./heap.js'),
      import('./output-files.js'),
    ]);

  // --- what stdin is, and output files that must not destroy it or an earlier run's results ---
  const single = opts.body !== undefined;
  const stdinStat = single ? undefined : checkStdin(fs);
  const input = outfile.stdinFile();
  const outPath = opts.outfile !== undefined && opts.outfile !== '-' ? opts.outfile : undefined;
  if (outPath !== undefined) outfile.checkNotInput(outPath, 'outfile', input);
  let statsFd: number | undefined;
  if (opts.statsJson !== undefined) {
    outfile.checkNotInput(opts.statsJson, '--stats-json file', input);
    if (outPath !== undefined && outfile.realTarget(outPath) === outfile.realTarget(opts.statsJson)) {
      throw new UsageError(`--stats-json ${opts.statsJson} is the outfile: give them different names`);
    }
    // Opened now (created if need be, not truncated), so that an unwritable one is found before any
    // record is sent; it is rewritten at the end.
    try {
      statsFd = fs.openSync(opts.statsJson, 'a');
    } catch (err) {
      throw new UsageError(`cannot write --stats-json ${opts.statsJson}: ${(err as Error).message}`);
    }
  }
  if (!single && outPath !== undefined) {
    outfile.checkOverwrite(outPath, { resume: opts.resume, resumeFailed: opts.resumeFailed, force: opts.force });
    const st = outfile.statOrUndefined(outPath);
    if (st === undefined || st.isFile()) {
      const lock = outfile.OutfileLock.acquire(outPath);
      process.once('exit', () => lock.release());
    }
  }
  if (stdinStat?.isTTY) {
    say('reading records from the terminal, one per line (Ctrl-D ends); to read a file: sm-invoke ... < FILE');
  }

  const target = await resolveTarget({ ...opts, maxAttempts: opts.given.has('max-attempts') ? opts.maxAttempts : undefined }, process.env);
  // Proxy, CA bundle, --no-verify-ssl: for InvokeEndpoint and the credential chain alike (network.ts).
  const network = await (await import('../http/network.js')).resolveNetwork(opts, process.env);
  for (const w of network.warnings) say(w);
  if (opts.debug) for (const line of network.describe) say(`debug: ${line}`);
  // A dry run needs no credentials: nothing is signed.
  let provider: ((o?: { forceRefresh?: boolean }) => Promise<import('@smithy/types').AwsCredentialIdentity>) | undefined;
  if (!opts.dryRun) {
    const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
    const { createSdkRequestHandler } = await import('../http/sdk-http.js');
    if (network.proxy) (await import('../http/node-http-proxy.js')).routeNodeHttpThroughProxy(network.proxy);
    const requestHandler = createSdkRequestHandler(createTransport(4, network.transport).send, { connectTimeoutMs: opts.connectTimeoutMs, timeoutMs: 30_000 });
    const chain = fromNodeProviderChain({ ...(target.profile !== undefined ? { profile: target.profile } : {}), clientConfig: { requestHandler } });
    provider = chain;
    // Start resolving now, in parallel with the first reads; the signer awaits the same memoized
    // promise, and a failure surfaces as one fatal error on the first record.
    chain().catch(() => undefined);
  }

  // Max attempts and retry mode from AWS_MAX_ATTEMPTS/AWS_RETRY_MODE and the profile (adaptive = --concurrency auto).
  opts = applyRetrySettings(opts, target.retry);

  // --- output: stdout, a file, or (--resume-failed) a file rewritten through a temporary one ---
  let resume: import('../core/pipeline.js').ResumeInput | undefined;
  let replacement: ReturnType<typeof outfile.createReplacement> | undefined;
  let openFlags = 'w';
  /** --resume: failed records among those answered before (they stay failed: the exit status counts them). */
  let failedBefore = 0;
  /** --resume: the torn last line to drop, once it is sure that this input is the outfile's. */
  let tornLine: import('./resume-file.js').OutfileState | undefined;
  if (!single && outPath !== undefined && (opts.resume || opts.resumeFailed)) {
    const state = await resumeMod.scanOutfile(outPath, opts.output === 'body');
    if (state !== undefined && state.records > 0) {
      // --output body lines are response bodies: whatever keys they have say nothing about the input.
      resume = opts.output === 'result'
        ? { records: state.records, lastLine: state.lastLine, lastInferenceId: state.lastInferenceId, lastMeta: state.lastMeta }
        : { records: state.records };
      if (opts.resumeFailed) {
        replacement = outfile.createReplacement(outPath);
        const old = fs.createReadStream(outPath, { end: state.completeBytes - 1 });
        resume.previous = utf8Lines(readLines(old, Number.MAX_SAFE_INTEGER));
        say(`resuming ${outPath}: ${state.failed} of its ${state.records} results failed and are sent again, with any records after them${state.tornBytes > 0 ? ` (dropping a torn last line of ${state.tornBytes} bytes)` : ''}`);
      } else {
        if (state.tornBytes > 0) tornLine = state;
        openFlags = 'a';
        failedBefore = state.failed;
        say(`resuming ${outPath}: ${state.records} records already answered${state.tornBytes > 0 ? ` (dropping a torn last line of ${state.tornBytes} bytes)` : ''}`);
      }
    } else if (state !== undefined && state.tornBytes > 0) {
      await resumeMod.dropTornLine(outPath, state);
    }
  }
  const outName = replacement !== undefined || outPath !== undefined ? outPath! : 'standard output';
  let out: NodeJS.WritableStream & import('node:stream').Writable = process.stdout;
  if (!single && outPath !== undefined) {
    out = replacement !== undefined
      ? fs.createWriteStream('', { fd: replacement.fd, autoClose: false })
      : fs.createWriteStream(outPath, { flags: openFlags });
    if (replacement === undefined) {
      await new Promise<void>((resolve, reject) => {
        out.once('open', () => resolve());
        out.once('error', (err) => reject(new UsageError(`cannot write ${outPath}: ${(err as Error).message}`)));
      });
    }
  }
  const writer = new BatchWriter(out);
  // A different input is only found out while reading it, before anything is written: so the torn
  // line goes just before the first write (the stream appends, O_APPEND, at the new end).
  const dropTornLine = (): void => {
    if (tornLine === undefined) return;
    fs.truncateSync(outPath!, tornLine.completeBytes);
    tornLine = undefined;
  };

  // --- progress and stats on stderr ---
  const tty = process.stderr.isTTY === true;
  const summary = pipeline.newSummary(Date.now());
  let totalBytes: number | undefined;
  try {
    const st = fs.fstatSync(0);
    if (st.isFile()) totalBytes = st.size;
  } catch {
    // no stdin
  }
  const showProgress = !single && (opts.progress ?? tty);
  let progressShown = false;
  const clearProgress = (): void => {
    if (progressShown && tty) process.stderr.write('\r\x1b[K');
    progressShown = false;
  };
  say = (line: string): void => {
    clearProgress();
    process.stderr.write(`sm-invoke: ${line}\n`);
  };
  let adaptive: import('../core/limiter.js').AdaptiveConcurrency | undefined;
  const snapshot = (): import('../core/stats.js').StatsSnapshot => {
    const wallMs = Math.max(1, Date.now() - summary.startedAt);
    const done = summary.ok + summary.failed;
    const l = summary.latency;
    const snap: import('../core/stats.js').StatsSnapshot = {
      records: summary.records, ok: summary.ok, failed: summary.failed, skipped: Math.max(0, summary.records - summary.resumed - done),
      resumed: summary.resumed,
      inFlight: summary.inFlight, attempts: summary.attempts, retries: summary.retries, throttles: summary.throttles, wallMs,
      recordsPerSecond: (done * 1000) / wallMs,
      latencyMs: { p50: l.quantile(0.5), p90: l.quantile(0.9), p99: l.quantile(0.99), max: l.count > 0 ? l.max : undefined },
    };
    if (adaptive) snap.concurrency = adaptive.limit;
    return snap;
  };
  // Results going to the same terminal (stdout is one too): a write clears the status line first, and
  // results still in the writer go out before it is drawn again, so the two never share a line.
  const resultsOnTerminal = tty && out === process.stdout && process.stdout.isTTY === true;
  let progressTimer: NodeJS.Timeout | undefined;
  if (showProgress) {
    progressTimer = setInterval(() => {
      const line = stats.formatProgress({ snapshot: snapshot(), bytesRead: summary.bytesIn, ...(totalBytes !== undefined ? { totalBytes } : {}) });
      if (tty) {
        if (resultsOnTerminal) writer.flush();
        process.stderr.write(`\r\x1b[K${line}`);
        progressShown = true;
      } else process.stderr.write(`sm-invoke: ${line}\n`);
    }, tty ? 100 : 1000);
    progressTimer.unref();
  }

  // --- stopping: EPIPE, signals ---
  const stop = new AbortController();
  let exitForSignal: number | undefined;
  let signalAt = 0;
  let readerGone = false;
  /** A failed write of results (a full disk, an I/O error): the run stops as for a fatal error. */
  let writeError: NodeJS.ErrnoException | undefined;
  const onWriteError = (err: NodeJS.ErrnoException): void => {
    writer.discard();
    // EPIPE: the reader has gone (`| head`): stop quietly. Anything else is a failure.
    if (err.code === 'EPIPE' && out === process.stdout) readerGone = true;
    else writeError ??= err;
    stop.abort('now');
  };
  out.on('error', onWriteError);
  const onSignal = (signal: NodeJS.Signals): void => {
    if (exitForSignal !== undefined) {
      // A second signal: leave now, with what is already complete.
      if (!readerGone && writeError === undefined) writer.flush();
      clearProgress();
      process.exit(exitForSignal);
    }
    exitForSignal = signal === 'SIGINT' ? EXIT_SIGINT : EXIT_SIGTERM;
    signalAt = Date.now();
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // --- admission: adaptive concurrency, rate ---
  const admission: import('../core/pipeline.js').Admission = {};
  if (opts.adaptive) {
    adaptive = new limiter.AdaptiveConcurrency({ min: 1, max: opts.concurrency });
    const a = adaptive;
    admission.adaptive = a;
    admission.semaphore = new limiter.DynamicSemaphore(() => a.limit);
  }
  if (opts.rate !== undefined) {
    admission.rate = new limiter.RateLimiter(opts.rate, Date.now, (ms, signal) => sleepFor(ms, signal));
  }

  // --- single invocation (--body): one record, answered the AWS CLI's way ---
  let singleExit: number | undefined;
  let records: AsyncIterable<import('../core/records.js').DecodedRecord> | undefined;
  let onResult: ((r: import('../core/result-format.js').Result) => Promise<void>) | undefined;
  if (single) {
    const { readBodyArgument, formatCliMetadata, formatCliError, EXIT_CLI_SERVICE_ERROR } = await import('./single.js');
    const { homedir } = await import('node:os');
    const body = readBodyArgument(opts.body!, { readFile: (p) => fs.readFileSync(p), home: homedir(), env: process.env });
    const { MAX_BODY_BYTES } = await import('../constants.js');
    if (body.length > MAX_BODY_BYTES) throw new UsageError(`--body is ${body.length} bytes; InvokeEndpoint accepts at most ${MAX_BODY_BYTES} bytes (6 MiB)`);
    records = (async function* () { yield { line: 1, fields: opts.defaults, body }; })();
    onResult = async (r) => {
      if (r.ok && r.body !== undefined) {
        if (opts.outfile === '-') await writeAll(process.stdout, r.body);
        else {
          try {
            fs.writeFileSync(opts.outfile!, r.body);
          } catch (err) {
            writeError ??= err as NodeJS.ErrnoException;
            return;
          }
        }
        process.stdout.write(formatCliMetadata(r));
        singleExit = EXIT_OK;
      } else {
        process.stderr.write(formatCliError(r.error!, r.attempts));
        singleExit = r.error?.status !== undefined ? EXIT_CLI_SERVICE_ERROR : EXIT_USAGE;
      }
    };
  }

  // --- debug log ---
  let onAttempt: ((a: import('../core/pipeline.js').AttemptInfo) => void) | undefined;
  if (opts.debug) {
    const { formatAttempt } = await import('./debug.js');
    say(`region ${target.region} (from ${target.regionSource}); requests go to ${target.url}; max attempts ${opts.maxAttempts} (from ${target.retry.maxAttemptsSource}); retry mode ${target.retry.retryModeConfigured} (from ${target.retry.retryModeSource})`);
    onAttempt = (a) => {
      clearProgress();
      process.stderr.write(formatAttempt(a));
    };
  }

  const transport = createTransport(opts.concurrency, network.transport);
  // Flat, small memory however long stdin is (see heap.ts).
  const unboundHeap = heap.boundHeap({ meanRecordBytes: () => (summary.records > 0 ? summary.bytesIn / summary.records : 0) });
  let summaryOut: import('../core/pipeline.js').Summary;
  try {
    summaryOut = await pipeline.runPipeline({
      lines: readLines(process.stdin, opts.maxLineBytes),
      ...(records ? { records } : {}),
      decode: { envelope: opts.envelope, defaults: opts.defaults, maxLineBytes: opts.maxLineBytes },
      concurrency: opts.concurrency,
      target: parseTarget(target.url),
      sign: provider
        ? createSigner({ credentials: () => provider!(), region: target.signingRegion })
        : () => Promise.reject(new Error('dry run: nothing is signed')),
      send: transport.send,
      refreshCredentials: async () => { await provider?.({ forceRefresh: true }); },
      output: opts.output,
      write: (text) => {
        dropTornLine();
        if (resultsOnTerminal) clearProgress();
        return typeof text === 'string' ? writer.write(text) : writer.writeParts(text);
      },
      warn: (line) => say(line),
      maxAttempts: opts.maxAttempts,
      retryModelErrors: opts.retryModelErrors,
      timeoutMs: opts.timeoutMs,
      connectTimeoutMs: opts.connectTimeoutMs,
      maxErrors: opts.maxErrors,
      stop: stop.signal,
      graceMs: GRACE_MS,
      summary,
      admission,
      dryRun: opts.dryRun,
      maxBufferBytes: opts.maxBufferBytes,
      ...(onResult ? { onResult } : {}),
      ...(onAttempt ? { onAttempt } : {}),
      ...(resume ? { resume } : {}),
    });
    dropTornLine();
  } catch (err) {
    if (err instanceof pipeline.ResumeMismatch) {
      // --resume-failed: the results so far went to the temporary file; the outfile was not touched.
      if (replacement !== undefined) {
        out.destroy();
        replacement.discard();
      }
      throw new UsageError(`--${opts.resumeFailed ? 'resume-failed' : 'resume'}: ${err.message}; nothing was changed in ${outPath}`);
    }
    throw err;
  } finally {
    transport.close();
    unboundHeap();
    if (progressTimer) clearInterval(progressTimer);
    clearProgress();
  }
  const result = summaryOut;
  // Results still queued go out; a reader that has stopped reading is waited for only within what
  // is left of a signal's grace period.
  const ending = writer.end(!single && outPath !== undefined);
  if (exitForSignal !== undefined) await Promise.race([ending, sleepFor(Math.max(0, signalAt + GRACE_MS - Date.now()))]);
  else await ending;
  if (!readerGone && writeError === undefined && writer.error !== undefined) onWriteError(writer.error);

  // --resume-failed rewrote the outfile into a temporary file: it replaces the original once it holds at
  // least as many answers, all of them on disk; a run stopped earlier than that (or a failed write)
  // leaves the original as it was.
  if (replacement !== undefined) {
    let commit = writeError === undefined && result.written >= (resume?.records ?? 0);
    if (commit) {
      try {
        fs.fsyncSync(replacement.fd);
      } catch (err) {
        onWriteError(err as NodeJS.ErrnoException);
        commit = false;
      }
    }
    fs.closeSync(replacement.fd);
    if (commit) replacement.commit();
    else replacement.discard();
  }

  // One snapshot for both, so that the text and the JSON give the same numbers.
  const final = snapshot();
  if (opts.stats ?? (tty && !single)) process.stderr.write(stats.formatStats(final) + '\n');
  if (statsFd !== undefined) {
    try {
      // No latency yet (nothing answered) is null, not a missing key.
      const json = JSON.stringify({
        ...final, stoppedBy: writeError !== undefined ? 'write-error' : result.stoppedBy ?? null,
        fatal: writeError !== undefined ? writeError.code ?? 'WriteError' : result.fatal?.code ?? null,
      }, (_key, value: unknown) => (value === undefined ? null : value));
      fs.ftruncateSync(statsFd, 0);
      fs.writeSync(statsFd, json + '\n');
      fs.closeSync(statsFd);
    } catch (err) {
      say(`cannot write --stats-json ${opts.statsJson}: ${(err as Error).message}`);
      if (writeError === undefined && result.fatal === undefined && exitForSignal === undefined) return EXIT_FATAL;
    }
  }

  /** How to go on after an early stop. */
  const next = (): void => {
    if (single) return;
    if (outPath !== undefined) say(`  to continue, run the same command with --resume${opts.resumeFailed ? '-failed' : ''} ${outPath} (records already answered are not sent again)`);
    else say('  the results went to standard output: to be able to continue a stopped run, give an outfile and then --resume');
  };
  if (writeError !== undefined) {
    const e = writeError;
    say(`fatal: cannot write results to ${outName}: ${e.code ?? 'EIO'}: ${e.message.replace(/^[A-Z]+: /, '')}`);
    say(`  stopped after ${result.written} result${result.written === 1 ? '' : 's'}${replacement !== undefined ? `; ${outPath} was left as it was` : ''}`);
    next();
    return EXIT_FATAL;
  }
  if (readerGone) return EXIT_OK;
  if (result.fatal) {
    const f = result.fatal;
    if (single && f.code === 'ProxyUnreachable') {
      // The AWS CLI's words, with the proxy's credentials masked as it masks them.
      const proxyUrl = /cannot connect to proxy (\S+?): /.exec(f.message)?.[1]?.replace('://***@', '://***:***@') ?? '';
      process.stderr.write(`\nFailed to connect to proxy URL: "${proxyUrl}"\n`);
      return 255;
    }
    if (single && /^(E[A-Z]+|ConnectTimeoutError|UND_ERR_CONNECT_TIMEOUT|ProxyTunnelFailed)$/.test(f.code)) {
      process.stderr.write(`\nCould not connect to the endpoint URL: "${target.url}${opts.defaults.endpointName ? `/endpoints/${opts.defaults.endpointName}/invocations` : ''}"\n`);
      return 255; // the AWS CLI's exit code for a connection failure
    }
    if (single && f.code !== 'CredentialsError') {
      const { formatCliError, EXIT_CLI_SERVICE_ERROR } = await import('./single.js');
      process.stderr.write(formatCliError({ code: f.code, message: f.message.slice(f.code.length + 2), status: 0 }, undefined));
      return EXIT_CLI_SERVICE_ERROR;
    }
    // AWS's InvalidSignatureException message carries the canonical request after a blank line.
    say(`fatal: ${f.message.split('\n')[0]}`);
    if (f.hint) say(`  ${f.hint}${/region/.test(f.hint) ? ` (region ${target.region} from ${target.regionSource})` : ''}`);
    if (!single) say(`  stopped after ${result.written} result${result.written === 1 ? '' : 's'} (written in input order); no further records were sent`);
    next();
    return EXIT_FATAL;
  }
  if (singleExit !== undefined) return singleExit;
  if (exitForSignal !== undefined) {
    say(`interrupted: ${result.written} results written in input order`);
    next();
    return exitForSignal;
  }
  if (result.stoppedBy === 'max-errors') {
    say(`stopped after ${result.failed} failed records (--max-errors ${opts.maxErrors}); ${result.written} results written`);
    next();
    return EXIT_TOO_MANY_ERRORS;
  }
  if (failedBefore > 0) say(`${failedBefore} of the records answered before this run had failed (--resume-failed sends them again)`);
  return result.failed + failedBefore > 0 ? EXIT_RECORD_ERRORS : EXIT_OK;
}

/**
 * stdin must be something records can be read from: a directory (`< dir`) or a closed descriptor is
 * a usage error, not "0 records". Returns whether it is a terminal (records typed by hand).
 */
function checkStdin(fs: typeof import('node:fs')): { isTTY: boolean } | undefined {
  let st: import('node:fs').Stats;
  try {
    st = fs.fstatSync(0);
  } catch (err) {
    throw new UsageError(`cannot read standard input: ${(err as Error).message}`);
  }
  if (st.isDirectory()) throw new UsageError('standard input is a directory: give the records as a file (sm-invoke ... < FILE) or a pipe');
  return { isTTY: process.stdin.isTTY === true };
}

/** readLines gives latin1 (byte) strings; earlier result lines are UTF-8 text. */
async function* utf8Lines(lines: AsyncIterable<unknown>): AsyncGenerator<string> {
  for await (const l of lines) yield Buffer.from(l as string, 'latin1').toString('utf8');
}

function writeAll(stream: NodeJS.WritableStream, data: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (stream.write(data)) resolve();
    else stream.once('drain', () => resolve());
  });
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

// A run whose event loop empties before it has finished (a promise nothing will settle) must not
// pass for a success: Node would exit 0.
let finishedRun = false;
process.once('beforeExit', () => {
  if (finishedRun) return;
  say('internal error: the run stopped before it had finished');
  process.exit(EXIT_FATAL);
});

main(process.argv.slice(2)).then(
  (code) => {
    finishedRun = true;
    process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      say(err.message);
      process.exit(EXIT_USAGE);
    }
    say(`internal error: ${err instanceof Error ? err.message : String(err)}`);
    if (process.env.SM_INVOKE_DEBUG) console.error(err);
    process.exit(EXIT_FATAL);
  },
);
