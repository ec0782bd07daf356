// Runs the bundled CLI (dist/sm-invoke.cjs) as a child process with a scrubbed environment.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file runs from dist/lib/test/helpers/). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const BUNDLE = join(ROOT, 'dist', 'sm-invoke.cjs');
export const BINARY = join(ROOT, 'dist', 'sm-invoke');

/** The AWS documentation's example keys; the emulator accepts them by default. */
export const ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
export const SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

export function tempDir(prefix = 'sm-invoke-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** No AWS settings from the developer's machine: only what a test passes. */
export function scrubbedEnv(extra: Record<string, string | undefined> = {}, withCredentials = true): Record<string, string> {
  const home = tempDir('sm-invoke-home-');
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: home,
    AWS_CONFIG_FILE: join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_REGION: 'us-east-1',
    ...(withCredentials ? { AWS_ACCESS_KEY_ID: ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY } : {}),
    ...extra,
  };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  /** stdout parsed as NDJSON. */
  lines: Array<Record<string, any>>;
}

export interface RunOptions {
  input?: string | Buffer;
  env?: Record<string, string>;
  /** Run this executable instead of `node dist/sm-invoke.cjs`. */
  command?: string;
  cwd?: string;
}

export function runCli(args: string[], opts: RunOptions = {}): Promise<CliResult> {
  const [cmd, argv] = opts.command ? [opts.command, args] : [process.execPath, [BUNDLE, ...args]];
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, argv, { env: opts.env ?? scrubbedEnv(), cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.stdin.on('error', () => undefined); // the CLI may exit before reading everything
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out);
      const text = stdout.toString('utf8');
      let lines: Array<Record<string, any>> = [];
      try {
        lines = text
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as Record<string, any>);
      } catch {
        lines = [];
      }
      resolveRun({ code, signal, stdout, stderr: Buffer.concat(err).toString('utf8'), lines });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** The end-of-run summary (README, "When something fails"): its counts line and the line after it on what to do. */
const END_SUMMARY =
  /^sm-invoke: \d+ records?( read)?: \d+ ok, \d+ failed[^\n]*; results in [^\n]+\n(sm-invoke: {3}(to send the failed records again|the failed results have|a failed record's line|\(--dry-run\))[^\n]*\n)?/m;

/** stderr split into the end-of-run summary (undefined when there is none) and every other line. */
export function splitSummary(stderr: string): { summary: string | undefined; rest: string } {
  const m = END_SUMMARY.exec(stderr);
  if (!m) return { summary: undefined, rest: stderr };
  return { summary: m[0], rest: stderr.slice(0, m.index) + stderr.slice(m.index + m[0].length) };
}

/** Joins JSON values into NDJSON text. */
export function ndjson(values: unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join('\n') + '\n';
}

/**
 * The built binary with stdin from a file (opened as the child's fd 0, as a shell's `< FILE` does:
 * what the same-file checks see), a pipe with the given text, or an empty pipe.
 */
export async function runBinary(
  args: string[],
  stdin: { file?: string; text?: string } = {},
  opts: { env?: Record<string, string>; cwd?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const fd = stdin.file !== undefined ? openSync(stdin.file, 'r') : 'pipe';
  const child = spawn(BINARY, args, { env: opts.env ?? scrubbedEnv(), cwd: opts.cwd, stdio: [fd, 'pipe', 'pipe'] });
  if (typeof fd === 'number') closeSync(fd);
  else {
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(stdin.text ?? '');
  }
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => out.push(c));
  child.stderr!.on('data', (c: Buffer) => err.push(c));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

/** n records `{"t":tag,"i":1..n}`, one a line: `tag` finds them in the emulator's log. */
export const taggedRecords = (n: number, tag: string): string => Array.from({ length: n }, (_, i) => JSON.stringify({ t: tag, i: i + 1 })).join('\n') + '\n';

/** A file's non-empty lines. */
export const fileLines = (p: string): string[] => readFileSync(p, 'utf8').split('\n').filter(Boolean);

/** Writes dir/name and returns its path. */
export function writeIn(dir: string, name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}
