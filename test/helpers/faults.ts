// Helpers for the reliability suite: a seeded fault plan, the outcome each planned record must
// have, and a child-process runner that leaves stdin, signals and stdout to the test.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { FaultType } from '../../src/emulator/config.js';
import { BUNDLE, scrubbedEnv } from './cli.js';

/** mulberry32 (the emulator's own): the same seed gives the same plan on every machine. */
import { mulberry32 as prng } from '../../src/emulator/prng.js';
export { prng };

/** What the service does to one record: fail its first `times` attempts with `fault`. */
export interface PlannedRecord {
  /** Input line number (1-based). */
  line: number;
  /** The input line, without its newline. */
  text: string;
  fault?: FaultType;
  times?: number;
  /** Not a valid envelope: never sent. */
  invalid?: boolean;
}

export interface Expected {
  ok: boolean;
  attempts: number;
  /** Error code of a failed record. */
  code?: string;
}

/** The error code a client sees for each fault. */
export const FAULT_CODE: Record<FaultType, string> = {
  throttle: 'ThrottlingException',
  'not-ready': 'ModelNotReadyException',
  internal: 'InternalFailure',
  unavailable: 'ServiceUnavailable',
  dependency: 'InternalDependencyException',
  reset: 'ECONNRESET',
  stall: 'TimeoutError',
  'model-error': 'ModelError',
};

const RETRYABLE = new Set<FaultType>(['throttle', 'not-ready', 'internal', 'unavailable', 'dependency', 'reset', 'stall']);

/** Weighted mix: [weight, fault, times]; times >= maxAttempts exhausts the retries. */
export type Mix = Array<[number, FaultType | 'none' | 'invalid', number]>;

export function plan(n: number, seed: number, mix: Mix): PlannedRecord[] {
  const random = prng(seed);
  const total = mix.reduce((s, [w]) => s + w, 0);
  const out: PlannedRecord[] = [];
  for (let i = 1; i <= n; i++) {
    let r = random() * total;
    let pick = mix[mix.length - 1]!;
    for (const m of mix) {
      r -= m[0];
      if (r < 0) {
        pick = m;
        break;
      }
    }
    const [, kind, times] = pick;
    if (kind === 'invalid') {
      out.push({ line: i, text: `{"body": {"seed": ${seed}, "i": ${i}}, oops`, invalid: true });
    } else if (kind === 'none') {
      out.push({ line: i, text: JSON.stringify({ body: { seed, i }, inferenceId: `rec-${i}` }) });
    } else {
      const body = { seed, i, __emulator: { fault: kind, times } };
      out.push({ line: i, text: JSON.stringify({ body, inferenceId: `rec-${i}` }), fault: kind, times });
    }
  }
  return out;
}

export function expected(rec: PlannedRecord, maxAttempts: number): Expected {
  if (rec.invalid) return { ok: false, attempts: 0, code: 'InvalidJson' };
  if (rec.fault === undefined) return { ok: true, attempts: 1 };
  if (!RETRYABLE.has(rec.fault)) return { ok: false, attempts: 1, code: FAULT_CODE[rec.fault] };
  const times = rec.times ?? Infinity;
  if (times < maxAttempts) return { ok: true, attempts: times + 1 };
  return { ok: false, attempts: maxAttempts, code: FAULT_CODE[rec.fault] };
}

/** The record index a request body belongs to (bodies are {"seed":S,"i":N,...}). */
export function recordOf(body: Buffer): number | undefined {
  const m = /"i":(\d+)/.exec(body.toString('utf8'));
  return m ? Number(m[1]) : undefined;
}

export interface Child {
  proc: ChildProcess;
  /** Resolves when the process has exited and its pipes are drained. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  /** Resolves once stdout has `n` complete lines. */
  linesSeen(n: number): Promise<void>;
}

/** `node dist/sm-invoke.cjs ...args` with a scrubbed env; stdin is left open to the caller. */
export function start(args: string[], env: Record<string, string> = scrubbedEnv(), stdout: 'pipe' | NodeJS.WritableStream = 'pipe'): Child {
  const proc = spawn(process.execPath, [BUNDLE, ...args], { env, stdio: ['pipe', stdout === 'pipe' ? 'pipe' : (stdout as never), 'pipe'] });
  let out = '';
  let err = '';
  let newlines = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  proc.stdout?.setEncoding('utf8');
  proc.stdout?.on('data', (c: string) => {
    out += c;
    for (let i = c.indexOf('\n'); i !== -1; i = c.indexOf('\n', i + 1)) newlines++;
    for (const w of waiters.filter((x) => newlines >= x.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (c: string) => {
    err += c;
  });
  proc.stdin?.on('error', () => undefined); // the CLI may stop reading before the end
  const done = (async () => {
    const [code, signal] = (await once(proc, 'close')) as [number | null, NodeJS.Signals | null];
    return { code, signal, stdout: out, stderr: err };
  })();
  return {
    proc,
    done,
    linesSeen: (n) => (newlines >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
  };
}

/** Feeds `lines` to a writable as fast as it takes them; stops quietly if it closes. */
export async function feed(stdin: NodeJS.WritableStream, text: string, end = true): Promise<void> {
  const CHUNK = 64 * 1024;
  const state = stdin as unknown as { destroyed?: boolean; writableEnded?: boolean };
  try {
    for (let at = 0; at < text.length; at += CHUNK) {
      if (state.destroyed || state.writableEnded) return;
      if (!stdin.write(text.slice(at, at + CHUNK))) {
        const drained = await Promise.race([once(stdin, 'drain').then(() => true), once(stdin, 'close').then(() => false)]);
        if (!drained) return;
      }
    }
    if (end && !state.destroyed) stdin.end();
  } catch {
    // EPIPE: the CLI stopped reading (fatal error, --max-errors, a closed stdout), as it may.
  }
}

/** Polls `check` every 10 ms until it holds or `ms` passes. */
export async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}
