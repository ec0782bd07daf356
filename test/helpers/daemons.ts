// Daemons started by a test (munged, slurmctld, slurmd, sshd) and whatever they start: each is
// stopped by its own process id, and the processes a daemon left behind (slurmstepd and the jobs'
// shells, ssh sessions) are found by a marker variable in their environment, which they inherit.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface Daemon {
  name: string;
  child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  exited: boolean;
}

export function startDaemon(name: string, command: string, args: string[], env: Record<string, string>): Daemon {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer): void => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const daemon: Daemon = { name, child, output: () => out, exited: false };
  child.once('error', (e) => {
    out += `\n${name}: ${e.message}`;
    daemon.exited = true;
  });
  child.once('exit', () => {
    daemon.exited = true;
  });
  return daemon;
}

/** Stops a daemon: SIGTERM, then SIGKILL after 3 s. */
export async function stopDaemon(d: Daemon): Promise<void> {
  if (d.exited || d.child.pid === undefined) return;
  const gone = new Promise((r) => d.child.once('exit', r));
  d.child.kill('SIGTERM');
  const t = setTimeout(() => d.child.kill('SIGKILL'), 3_000);
  await gone;
  clearTimeout(t);
}

/** The ids of the processes whose environment holds NAME=VALUE (this process excluded). */
export function pidsMarked(name: string, value: string): number[] {
  const want = `${name}=${value}`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(want)) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

/** SIGKILL to every process marked NAME=VALUE, by id; returns their ids. */
export function killMarked(name: string, value: string): number[] {
  const pids = pidsMarked(name, value);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return pids;
}

/** Polls `check` every 200 ms until it returns a value (not undefined) or `ms` pass; then throws with `what()`. */
export async function waitFor<T>(check: () => T | undefined | Promise<T | undefined>, ms: number, what: () => string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
