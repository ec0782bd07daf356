// TEMPORARY skeleton entry point: being replaced by the real CLI wiring (args, pipeline).
import { VERSION } from './version.js';

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'emulate') {
    const { runEmulatorCli } = await import('./emulator/cli.js');
    return runEmulatorCli(argv.slice(1));
  }
  if (argv.includes('--version')) {
    process.stdout.write(`sm-invoke ${VERSION}\n`);
    return 0;
  }
  process.stdout.write('usage: sm-invoke --endpoint-name NAME [options] [outfile]\n');
  return 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
