#!/usr/bin/env node
// `npm run demo`: starts the built-in SageMaker Runtime emulator, pipes scripts/demo/sample.ndjson
// through the built binary against it, prints the results, and stops the emulator.
// No AWS account needed: the emulator accepts the AWS documentation's example keys.
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'dist', 'sm-invoke');
if (!existsSync(bin)) {
  console.error('demo: dist/sm-invoke is missing; run `npm run build` first');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'sm-invoke-demo-'));
const config = join(dir, 'emulator.json');
writeFileSync(
  config,
  JSON.stringify({
    endpoints: {
      demo: {
        variants: [
          { name: 'AllTraffic', weight: 3 },
          { name: 'canary', weight: 1 },
        ],
        latencyMs: { min: 5, max: 40 },
      },
    },
  }),
);

const emulator = spawn(bin, ['emulate', '--port', '0', '--quiet', '--config', config], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((resolve, reject) => {
  let seen = '';
  emulator.stdout.on('data', (c) => {
    seen += c;
    const m = /listening on (http:\/\/\S+)/.exec(seen);
    if (m) resolve(m[1]);
  });
  emulator.on('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
});

const sample = join(root, 'scripts', 'demo', 'sample.ndjson');
const cmd = `sm-invoke --envelope --endpoint-name demo --content-type application/json --endpoint-url ${url} < scripts/demo/sample.ndjson`;
console.error(`$ ${cmd}`);
const env = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: dir,
  AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
};
const { openSync } = await import('node:fs');
const run = spawn(bin, ['--envelope', '--endpoint-name', 'demo', '--content-type', 'application/json', '--endpoint-url', url], {
  stdio: [openSync(sample, 'r'), 'inherit', 'inherit'],
  env,
});
const code = await new Promise((resolve) => run.on('exit', (c) => resolve(c ?? 1)));
emulator.kill('SIGTERM');
console.error(`(sm-invoke exited ${code}: 1 means some records failed — here on purpose, lines 5 and 7)`);
process.exit(code === 1 || code === 0 ? 0 : code);
