// Runs `sm-invoke emulate` as its own process (what the bundled binary does).
import { runEmulatorCli } from '../../src/emulator/cli.js';

process.exitCode = await runEmulatorCli(process.argv.slice(2));
