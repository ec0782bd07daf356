// The entry point, and the only module that touches `process`: argv, the environment, the streams,
// signals and exit. It parses, hands a run to run.ts, and exits with the code it gets (exit-codes.ts).
// The run's modules (credential chain, signer, HTTP) are imported only for a real run, so `--help`
// and `--version` start as fast as Node itself.
import { UsageError } from '../errors.js';
import { VERSION } from '../version.js';
import { parseArgs } from './args.js';
import { escapeLine } from './escape.js';
import { EXIT_FATAL, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import { processIo } from './io.js';

const say = (line: string): void => {
  process.stderr.write(`sm-invoke: ${escapeLine(line)}\n`);
};

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'emulate') {
    const { runEmulatorCli } = await import('../emulator/cli.js');
    return runEmulatorCli(argv.slice(1));
  }
  if (argv[0] === 'merge') {
    const { runMerge } = await import('./merge.js');
    return runMerge(argv.slice(1), { stdout: process.stdout, stderr: say });
  }
  const command = parseArgs(argv);
  if (command.kind === 'help') {
    const { HELP } = await import('./help.js');
    process.stdout.write(HELP);
    return EXIT_OK;
  }
  if (command.kind === 'version') {
    process.stdout.write(`sm-invoke ${VERSION}\n`);
    return EXIT_OK;
  }
  const { run } = await import('./run.js');
  return run(command.options, processIo());
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
