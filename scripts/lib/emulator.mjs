// What the benchmark and demo scripts share: the environment their child processes get (the AWS
// documentation's example keys, no AWS settings from this machine, no instance metadata) and the
// emulator started as `sm-invoke emulate` from a config file.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The emulator accepts these by default. */
export const EXAMPLE_KEYS = { AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };

/** An environment for sm-invoke and the baseline: a fresh HOME (no ~/.aws), example keys, us-east-1. */
export function benchEnv(home = mkdtempSync(join(tmpdir(), 'smi-bench-home-'))) {
  return { PATH: process.env.PATH, HOME: home, ...EXAMPLE_KEYS, AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' };
}

/**
 * Starts `binary emulate --port 0 --quiet --config <config>` and resolves with its URL (from the one
 * line it prints), the child and a stop function.
 */
export async function startEmulatorProcess(binary, config, env = benchEnv()) {
  const dir = mkdtempSync(join(tmpdir(), 'smi-emulator-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  const child = spawn(binary, ['emulate', '--port', '0', '--quiet', '--config', file], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let seen = '';
    child.stdout.on('data', (c) => {
      seen += c;
      const m = /listening on (http:\/\/\S+)/.exec(seen);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
  });
  return { url, child, stop: () => child.kill('SIGTERM') };
}
