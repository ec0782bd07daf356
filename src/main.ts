// The only module that touches `process`: argv, env, stdin/stdout/stderr, signals, exit codes.
// Heavy modules (credential chain, signer, HTTP) are imported only for a real run, so
// `--help` and `--version` start as fast as Node itself.
import { parseArgs, type Options } from './args.js';
import {
  EXIT_FATAL, EXIT_OK, EXIT_RECORD_ERRORS, EXIT_SIGINT, EXIT_SIGTERM, EXIT_TOO_MANY_ERRORS, EXIT_USAGE, UsageError,
} from './errors.js';
import { VERSION } from './version.js';

const GRACE_MS = 5_000;

function say(line: string): void {
  process.stderr.write(`sm-invoke: ${line}\n`);
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'emulate') {
    const { runEmulatorCli } = await import('./emulator/cli.js');
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
  const [{ resolveTarget }, { fromNodeProviderChain }, { createSigner }, { createTransport }, { runPipeline }, { readLines }, { parseTarget }, { BatchWriter }, fs] =
    await Promise.all([
      import('./aws-config.js'),
      import('@aws-sdk/credential-providers'),
      import('./sign.js'),
      import('./transport.js'),
      import('./pipeline.js'),
      import('./lines.js'),
      import('./request.js'),
      import('./output.js'),
      import('node:fs'),
    ]);

  const target = await resolveTarget(opts, process.env);
  const provider = fromNodeProviderChain(target.profile !== undefined ? { profile: target.profile } : {});
  // Start resolving credentials now, in parallel with the first reads; the signer awaits the same
  // memoized promise, and a failure surfaces as one fatal error on the first record.
  provider().catch(() => undefined);

  const toFile = opts.outfile !== undefined && opts.outfile !== '-';
  let out: NodeJS.WritableStream & import('node:stream').Writable = process.stdout;
  if (toFile) {
    out = fs.createWriteStream(opts.outfile!);
    await new Promise<void>((resolve, reject) => {
      out.once('open', () => resolve());
      out.once('error', (err) => reject(new UsageError(`cannot write ${opts.outfile}: ${(err as Error).message}`)));
    });
  }
  const writer = new BatchWriter(out);

  const stop = new AbortController();
  let exitForSignal: number | undefined;
  let readerGone = false;
  out.on('error', (err: NodeJS.ErrnoException) => {
    // EPIPE: the reader has gone (`| head`). Stop quietly; anything else is a real write error.
    if (err.code !== 'EPIPE') say(`cannot write output: ${err.message}`);
    readerGone = true;
    writer.discard();
    stop.abort('now');
  });
  const onSignal = (signal: NodeJS.Signals): void => {
    if (exitForSignal !== undefined) {
      // A second signal: leave now, with what is already complete.
      writer.flush();
      process.exit(exitForSignal);
    }
    exitForSignal = signal === 'SIGINT' ? EXIT_SIGINT : EXIT_SIGTERM;
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const transport = createTransport(opts.concurrency);
  const summary = await runPipeline({
    lines: readLines(process.stdin, opts.maxLineBytes),
    decode: { envelope: opts.envelope, defaults: opts.defaults, maxLineBytes: opts.maxLineBytes },
    concurrency: opts.concurrency,
    target: parseTarget(target.url),
    sign: createSigner({ credentials: () => provider(), region: target.signingRegion }),
    send: transport.send,
    refreshCredentials: async () => { await provider({ forceRefresh: true }); },
    output: opts.output,
    write: (text) => writer.write(text),
    warn: say,
    maxAttempts: opts.maxAttempts,
    retryModelErrors: opts.retryModelErrors,
    timeoutMs: opts.timeoutMs,
    connectTimeoutMs: opts.connectTimeoutMs,
    maxErrors: opts.maxErrors,
    stop: stop.signal,
    graceMs: GRACE_MS,
  });
  transport.close();
  await writer.end(toFile);

  if (readerGone) return EXIT_OK;
  if (summary.fatal) {
    const f = summary.fatal;
    // AWS's InvalidSignatureException message carries the canonical request after a blank line.
    say(`fatal: ${f.message.split('\n')[0]}`);
    if (f.hint) say(`  ${f.hint}`);
    say(`  stopped after ${summary.written} result${summary.written === 1 ? '' : 's'} (written in input order); no further records were sent`);
    return EXIT_FATAL;
  }
  if (exitForSignal !== undefined) {
    say(`interrupted: ${summary.written} results written in input order`);
    return exitForSignal;
  }
  if (summary.stoppedBy === 'max-errors') {
    say(`stopped after ${summary.failed} failed records (--max-errors ${opts.maxErrors}); ${summary.written} results written`);
    return EXIT_TOO_MANY_ERRORS;
  }
  return summary.failed > 0 ? EXIT_RECORD_ERRORS : EXIT_OK;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
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
