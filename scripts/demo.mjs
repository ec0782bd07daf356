#!/usr/bin/env node
// `npm run demo`: starts the built-in SageMaker Runtime emulator, pipes scripts/demo/sample.ndjson
// through the built binary against it, prints the results, and stops the emulator.
// No AWS account needed: the emulator accepts the AWS documentation's example keys.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchEnv, startEmulatorProcess } from './lib/emulator.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'dist', 'sm-invoke');
if (!existsSync(bin)) {
  console.error('demo: dist/sm-invoke is missing; run `npm run build` first');
  process.exit(2);
}
const env = benchEnv(mkdtempSync(join(tmpdir(), 'sm-invoke-demo-')));
const emulator = await startEmulatorProcess(
  bin,
  {
    endpoints: {
      demo: {
        variants: [
          { name: 'AllTraffic', weight: 3 },
          { name: 'canary', weight: 1 },
        ],
        latencyMs: { min: 5, max: 40 },
      },
    },
  },
  env,
);
const url = emulator.url;

const sample = join(root, 'scripts', 'demo', 'sample.ndjson');
const cmd = `sm-invoke --envelope --endpoint-name demo --content-type application/json --endpoint-url ${url} < scripts/demo/sample.ndjson`;
console.error(`$ ${cmd}`);
const { openSync } = await import('node:fs');
const run = spawn(bin, ['--envelope', '--endpoint-name', 'demo', '--content-type', 'application/json', '--endpoint-url', url], {
  stdio: [openSync(sample, 'r'), 'inherit', 'inherit'],
  env,
});
const code = await new Promise((resolve) => run.on('exit', (c) => resolve(c ?? 1)));
emulator.stop();
console.error(`(sm-invoke exited ${code}: 1 means some records failed — here on purpose, lines 5 and 7)`);
process.exit(code === 1 || code === 0 ? 0 : code);
