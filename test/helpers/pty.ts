// Runs the bundled CLI with stderr on a pseudo-terminal (so process.stderr.isTTY is true), stdin
// from a regular file and stdout to a file. Node has no pty of its own; Python's `pty` module does,
// and scripts/setup-tests.sh installs python3 (a test that needs it fails without it: tools.ts).
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE, tempDir } from './cli.js';

/** The python3 on PATH, resolved with the test's own env (a pyenv shim needs its HOME). */
export const NO_PYTHON = 'python3 with the pty module is not installed (Debian package python3), needed to give the CLI a terminal';
export const PYTHON = ((): string | undefined => {
  const r = spawnSync('python3', ['-c', 'import pty, tty, sys; print(sys.executable)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
})();

// The child gets the pty's slave end as stderr, in raw mode (no \n -> \r\n), and the bytes written
// to it are read from the master end until the child has exited and closed it (EIO/EOF).
const SCRIPT = `
import base64, fcntl, json, os, pty, struct, subprocess, sys, termios, time, tty
spec = json.loads(sys.stdin.read())
master, slave = pty.openpty()
tty.setraw(slave)
if spec.get('columns'):
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', 24, spec['columns'], 0, 0))
t0 = time.monotonic()
with open(spec['stdin'], 'rb') as fin, open(spec['stdout'] or os.devnull, 'wb') as fout:
    p = subprocess.Popen(spec['argv'], stdin=fin, stdout=fout if spec['stdout'] else slave, stderr=slave, env=spec['env'], close_fds=True)
os.close(slave)
chunks = []
while True:
    try:
        d = os.read(master, 65536)
    except OSError:
        break
    if not d:
        break
    chunks.append(d)
code = p.wait()
ms = (time.monotonic() - t0) * 1000
sys.stdout.write(json.dumps({'code': code, 'ms': ms, 'stderr': base64.b64encode(b''.join(chunks)).decode()}))
`;

export interface PtyResult {
  code: number;
  /** Wall time of the child, measured around it by the Python parent. */
  ms: number;
  /** Every byte the child wrote to the terminal (stderr, and stdout too with `stdoutToo`). */
  stderr: string;
  /** What went to the stdout file (empty with `stdoutToo`). */
  stdout: Buffer;
}

/**
 * `node dist/sm-invoke.cjs ...args < stdinFile` with stderr on a pty and stdout to a file; with
 * `stdoutToo`, stdout on the same pty (a user trying it out at a terminal, nothing redirected).
 * `columns`: the terminal's width (TIOCSWINSZ; by default the pty's own, which is 0: unknown).
 */
export function runCliOnPty(args: string[], stdinFile: string, env: Record<string, string>, stdoutToo = false, columns?: number): Promise<PtyResult> {
  if (PYTHON === undefined) throw new Error('python3 with the pty module is needed');
  const stdoutFile = join(tempDir('sm-invoke-pty-'), 'stdout');
  const spec = { argv: [process.execPath, BUNDLE, ...args], stdin: stdinFile, stdout: stdoutToo ? null : stdoutFile, env, columns };
  return new Promise((resolve, reject) => {
    const child = execFile(PYTHON, ['-c', SCRIPT], { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 }, (err, out, errText) => {
      if (err) return reject(new Error(`pty runner failed: ${err.message}\n${errText}`));
      const r = JSON.parse(out) as { code: number; ms: number; stderr: string };
      resolve({
        code: r.code,
        ms: r.ms,
        stderr: Buffer.from(r.stderr, 'base64').toString('utf8'),
        stdout: stdoutToo ? Buffer.alloc(0) : readFileSync(stdoutFile),
      });
    });
    child.stdin!.end(JSON.stringify(spec));
  });
}
