// bash -c SCRIPT for the scale-out tests, asynchronously: the emulator (and S3) they talk to run in
// the test's own process, so a synchronous spawn would stall them.
import { spawn } from 'node:child_process';

export interface ShellRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `bash -c script` in cwd with exactly env; resolves with its exit status and output. */
export function bash(script: string, cwd: string, env: Record<string, string>): Promise<ShellRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Result lines without what differs from run to run (attempts, latency), to compare two runs. */
export function stableLines(text: string): string[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/,"attempts":\d+/, '').replace(/,"latencyMs":\d+/, ''));
}
