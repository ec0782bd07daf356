// The user's data is never lost: output files that could destroy the input or an earlier run's
// results, write errors, odd stdin, a blocked reader and a stop, bounded memory behind a stalled
// record. Every case runs the built single executable against the emulator.
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  appendFileSync,
  chmodSync,
  closeSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { BINARY, scrubbedEnv, tempDir } from '../helpers/cli.js';
import { NO_PYTHON, PYTHON } from '../helpers/pty.js';
import { requireTools } from '../helpers/tools.js';

let emu: Emulator;
before(async () => {
  emu = await startEmulator({ endpoints: { demo: {}, mirror: { model: 'mirror' } } });
});
after(() => emu.close());

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** The binary with stdin from `stdin` (a path: the file itself; a Buffer: a pipe) and stdout as given. */
async function run(args: string[], stdin: string | Buffer | number, opts: { stdout?: number | 'pipe'; env?: Record<string, string> } = {}): Promise<Run> {
  const fd = typeof stdin === 'string' ? openSync(stdin, 'r') : typeof stdin === 'number' ? stdin : 'pipe';
  const child = spawn(BINARY, ['--endpoint-url', emu.url, ...args], { env: opts.env ?? scrubbedEnv(), stdio: [fd, opts.stdout ?? 'pipe', 'pipe'] });
  if (typeof fd === 'number' && typeof stdin === 'string') closeSync(fd);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (c: Buffer) => out.push(c));
  child.stderr!.on('data', (c: Buffer) => err.push(c));
  if (Buffer.isBuffer(stdin)) {
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(stdin);
  }
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  return { code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') };
}

const records = (n: number, tag = 'r'): string => Array.from({ length: n }, (_, i) => JSON.stringify({ t: tag, i: i + 1 })).join('\n') + '\n';
const requestsTagged = (tag: string): number => emu.log.filter((e) => e.body.toString().includes(`"t":"${tag}"`)).length;

function file(dir: string, name: string, content: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

describe('an outfile that is the input', () => {
  test('by the same path, a symlink or a hard link: exit 2 and the input is untouched', async () => {
    const dir = tempDir();
    const data = file(dir, 'data.ndjson', records(3, 'same'));
    symlinkSync(data, join(dir, 'link.ndjson'));
    linkSync(data, join(dir, 'hard.ndjson'));
    for (const name of ['data.ndjson', 'link.ndjson', 'hard.ndjson', `../${dir.split('/').pop()}/data.ndjson`]) {
      const r = await run(['--endpoint-name', 'demo', join(dir, name)], data);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /is the file being read as standard input: writing it would destroy the input/);
      assert.equal(readFileSync(data, 'utf8'), records(3, 'same'));
    }
    assert.equal(requestsTagged('same'), 0);
  });

  test('--stats-json naming the input, or the outfile: exit 2 before anything is written', async () => {
    const dir = tempDir();
    const data = file(dir, 'data.ndjson', records(2, 'statsin'));
    let r = await run(['--endpoint-name', 'demo', '--stats-json', data], data);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--stats-json file .* is the file being read as standard input/);
    assert.equal(readFileSync(data, 'utf8'), records(2, 'statsin'));
    const out = join(dir, 'out.ndjson');
    r = await run(['--endpoint-name', 'demo', '--stats-json', out, out], data);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /is the outfile/);
    assert.equal(requestsTagged('statsin'), 0);
  });
});

describe('an existing outfile', () => {
  test('not empty: kept, exit 2, unless --force (an outfile of results), --force-any (anything) or --resume', async () => {
    const dir = tempDir();
    const input = file(dir, 'in.ndjson', records(2, 'exist'));
    const out = file(dir, 'out.ndjson', 'precious data\n');
    let r = await run(['--endpoint-name', 'demo', out], input);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /outfile .*out\.ndjson already holds 14 bytes that are not sm-invoke results; it was left as it is/);
    r = await run(['--endpoint-name', 'demo', '--force', out], input);
    assert.equal(r.code, 2);
    assert.equal(readFileSync(out, 'utf8'), 'precious data\n');
    assert.equal(requestsTagged('exist'), 0);

    r = await run(['--endpoint-name', 'demo', '--force-any', out], input);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(out, 'utf8').split('\n').filter(Boolean).length, 2);
    r = await run(['--endpoint-name', 'demo', out], input);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /outfile .*out\.ndjson already holds \d+ bytes of results; it was left as it is\. Give --resume .* --force to replace it/);
    r = await run(['--endpoint-name', 'demo', '--force', out], input);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(requestsTagged('exist'), 4);
  });

  test('empty, or a device like /dev/null: written without a flag', async () => {
    const dir = tempDir();
    const input = file(dir, 'in.ndjson', records(1, 'empty'));
    const out = file(dir, 'out.ndjson', '');
    let r = await run(['--endpoint-name', 'demo', out], input);
    assert.equal(r.code, 0, r.stderr);
    assert.match(readFileSync(out, 'utf8'), /^\{"line":1,"ok":true/);
    r = await run(['--endpoint-name', 'demo', '/dev/null'], input);
    assert.equal(r.code, 0, r.stderr);
  });

  test('--resume refuses a file that sm-invoke did not write, and leaves it alone', async () => {
    const dir = tempDir();
    const input = file(dir, 'in.ndjson', records(3, 'foreign'));
    for (const content of ['{"a":1}\n{"a":2}\n', 'id,text\n1,hello\n', '{"line":2,"ok":true}\n{"line":1,"ok":true}\n']) {
      const out = file(dir, 'out.ndjson', content);
      const r = await run(['--endpoint-name', 'demo', '--resume', out], input);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--resume: line \d of .*out\.ndjson: .*--resume only continues an outfile that sm-invoke wrote/);
      assert.equal(readFileSync(out, 'utf8'), content);
    }
    assert.equal(requestsTagged('foreign'), 0);
  });

  test('--force with --resume, or without an outfile, is a usage error', async () => {
    let r = await run(['--endpoint-name', 'demo', '--force', '--resume', join(tempDir(), 'o')], Buffer.from(''));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--force replaces the outfile; --resume keeps it/);
    r = await run(['--endpoint-name', 'demo', '--force'], Buffer.from(''));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--force goes with an outfile/);
  });
});

describe('two runs on one outfile', () => {
  test("the second exits 2 at once; the lock goes with the first run, and a killed run's lock is taken over", async () => {
    const dir = tempDir();
    const slow = Array.from({ length: 40 }, (_, i) => JSON.stringify({ t: 'lock', i: i + 1, __emulator: { latencyMs: 30 } })).join('\n') + '\n';
    const input = file(dir, 'in.ndjson', slow);
    const out = join(dir, 'out.ndjson');
    const first = run(['--endpoint-name', 'demo', '--concurrency', '1', '--resume', out], input);
    const lock = `${out}.sm-invoke.lock`;
    for (let i = 0; i < 200 && !existsSync(lock); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(existsSync(lock), 'the first run holds a lock file');
    const second = await run(['--endpoint-name', 'demo', '--resume', out], input);
    assert.equal(second.code, 2, second.stderr);
    assert.match(second.stderr, /outfile .*out\.ndjson is in use by process \d+ on .*: two runs must not write one outfile/);
    const r1 = await first;
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(readFileSync(out, 'utf8').split('\n').filter(Boolean).length, 40);
    assert.equal(existsSync(lock), false, 'released at exit');
    assert.equal(requestsTagged('lock'), 40, 'no record sent twice');

    // A lock left by a process that is gone (SIGKILL) does not block the next run.
    const dead = spawnSync('true');
    writeFileSync(lock, JSON.stringify({ pid: dead.pid, host: (await import('node:os')).hostname(), since: 'then' }) + '\n');
    const r3 = await run(['--endpoint-name', 'demo', '--resume', out], input);
    assert.equal(r3.code, 0, r3.stderr);
    assert.equal(existsSync(lock), false);
  });
});

describe('--resume-failed rewrites through a temporary file', () => {
  test('a 0600 outfile stays 0600, a symlinked outfile stays a link to its updated target, no temporary file is left', async () => {
    const dir = tempDir();
    const realDir = join(dir, 'real');
    mkdirSync(realDir);
    const lines = [
      JSON.stringify({ t: 'rf', i: 1 }),
      JSON.stringify({ t: 'rf', i: 2, __emulator: { fault: 'model-error', times: 1 } }),
      JSON.stringify({ t: 'rf', i: 3 }),
    ];
    const input = file(dir, 'in.ndjson', lines.join('\n') + '\n');
    const target = join(realDir, 'results.ndjson');
    symlinkSync(target, join(dir, 'results.ndjson'));
    const link = join(dir, 'results.ndjson');
    let r = await run(['--endpoint-name', 'demo', link], input);
    assert.equal(r.code, 1, r.stderr);
    chmodSync(target, 0o600);
    r = await run(['--endpoint-name', 'demo', '--resume-failed', link], input);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /resuming .*: 1 of its 3 results failed and are sent again, with any records after them/);
    assert.ok(lstatSync(link).isSymbolicLink(), 'the link is still a link');
    assert.equal(readlinkSync(link), target);
    assert.equal(statSync(target).mode & 0o777, 0o600);
    const results = readFileSync(target, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { ok: boolean });
    assert.deepEqual(
      results.map((x) => x.ok),
      [true, true, true],
    );
    assert.deepEqual(readdirSync(realDir).sort(), ['results.ndjson', 'results.ndjson.sm-invoke.digests']);
    assert.deepEqual(readdirSync(dir).sort(), ['in.ndjson', 'real', 'results.ndjson']);
  });
});

describe('write errors are failures', () => {
  test('stdout to /dev/full: exit 3, a message naming it and ENOSPC, --stats-json still written, the resume advice', async () => {
    const dir = tempDir();
    const full = openSync('/dev/full', 'w');
    const stats = join(dir, 'stats.json');
    const r = await run(['--endpoint-name', 'demo', '--stats-json', stats], Buffer.from(records(5, 'full')), { stdout: full });
    closeSync(full);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /fatal: cannot write results to standard output: ENOSPC/);
    assert.match(r.stderr, /to be able to continue a stopped run, give an outfile/);
    const s = JSON.parse(readFileSync(stats, 'utf8')) as { stoppedBy: string; fatal: string };
    assert.equal(s.stoppedBy, 'write-error');
    assert.equal(s.fatal, 'ENOSPC');
  });

  test('an outfile that cannot take the data (/dev/full): exit 3 naming the file', async () => {
    const r = await run(['--endpoint-name', 'demo', '/dev/full'], Buffer.from(records(3, 'fullfile')));
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /fatal: cannot write results to \/dev\/full: ENOSPC/);
    assert.match(r.stderr, /to continue, run the same command with --resume \/dev\/full/);
  });

  test('an unwritable --stats-json is found before any record is sent (exit 2)', async () => {
    const dir = tempDir();
    for (const stats of [join(dir, 'no-such-dir', 's.json'), dir]) {
      const r = await run(['--endpoint-name', 'demo', '--stats-json', stats], Buffer.from(records(2, 'statsbad')));
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /cannot write --stats-json/);
    }
    assert.equal(requestsTagged('statsbad'), 0);
  });

  describe('on a full file system (a small tmpfs)', () => {
    let mnt: string | undefined;
    before(() => {
      const dir = tempDir('sm-invoke-tmpfs-');
      const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { encoding: 'utf8' });
      if (m.status === 0) mnt = dir;
    });
    after(() => {
      if (mnt) spawnSync('umount', [mnt]);
    });

    test('a run that fills the disk: exit 3, and --resume-failed leaves the original file and does not blame the input', async () => {
      if (mnt === undefined) assert.fail('mounting a tmpfs (to fill a disk) needs root: run the tests as root, as CI does');
      const pad = 'p'.repeat(1500);
      const lines = Array.from({ length: 60 }, (_, i) => JSON.stringify({ t: 'tmpfs', i: i + 1, pad })).join('\n') + '\n';
      const input = file(tempDir(), 'in.ndjson', lines);
      const out = join(mnt, 'out.ndjson');
      let r = await run(['--endpoint-name', 'demo', out], input);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /fatal: cannot write results to .*out\.ndjson: ENOSPC/);
      assert.match(r.stderr, /to continue, run the same command with --resume/);

      // A file whose records all failed, and the rest of the disk full: --resume-failed needs room
      // for a second copy and finds none.
      const failedResults = Array.from({ length: 20 }, (_, i) => `{"line":${i + 1},"ok":false,"error":{"code":"ModelError","message":"x"}}`).join('\n') + '\n';
      writeFileSync(out, failedResults);
      fillUp(join(mnt, 'filler'));
      // One page back: room for the lock file and the results kept, not for the new answers.
      truncateSync(join(mnt, 'filler'), statSync(join(mnt, 'filler')).size - 4096);
      r = await run(['--endpoint-name', 'demo', '--resume-failed', out], input);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /cannot write results to .*out\.ndjson: ENOSPC/);
      assert.doesNotMatch(r.stderr, /not the same input/);
      assert.equal(readFileSync(out, 'utf8'), failedResults, 'the original is left as it was');
      assert.deepEqual(
        readdirSync(mnt).filter((n) => n.includes('sm-invoke') && !n.endsWith('.sm-invoke.digests')),
        [],
        'no temporary file left',
      );
    });
  });
});

/** Appends to `path` until the file system is full. */
function fillUp(path: string): void {
  const chunk = Buffer.alloc(1024, 1);
  for (;;) {
    try {
      appendFileSync(path, chunk);
    } catch {
      return;
    }
  }
}

describe('odd stdin', () => {
  test('a directory is a usage error, not "0 records"', async () => {
    const fd = openSync(tempDir(), 'r');
    const r = await run(['--endpoint-name', 'demo'], fd);
    closeSync(fd);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /standard input is a directory/);
  });

  test('a terminal: says where records come from, and Ctrl-D ends them', async () => {
    requireTools(PYTHON === undefined && NO_PYTHON);
    // Types a record once the notice is shown, then Ctrl-D (EOF at the start of a line).
    const script = `
import json, os, pty, select, subprocess, sys, time
master, slave = pty.openpty()
p = subprocess.Popen(sys.argv[1:], stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, close_fds=True)
os.close(slave)
err = b''
deadline = time.monotonic() + 30
while b'Ctrl-D' not in err and time.monotonic() < deadline:
    r, _, _ = select.select([p.stderr], [], [], 1)
    if r:
        d = os.read(p.stderr.fileno(), 4096)
        if not d:
            break
        err += d
os.write(master, b'{"typed":1}\\n')
time.sleep(0.2)
os.write(master, b'\\x04')
out, rest = p.communicate(timeout=30)
print(json.dumps({'code': p.returncode, 'out': out.decode(), 'err': (err + rest).decode()}))
`;
    // (Not spawnSync: the emulator answers from this process's event loop.)
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        PYTHON!,
        ['-c', script, BINARY, '--endpoint-url', emu.url, '--endpoint-name', 'demo'],
        { env: scrubbedEnv(), timeout: 40_000 },
        (err, stdout, stderr) => resolve({ status: err ? 1 : 0, stdout, stderr }),
      );
    });
    assert.equal(r.status, 0, `pty runner: ${r.stderr}`);
    const res = JSON.parse(r.stdout) as { code: number; out: string; err: string };
    assert.equal(res.code, 0, res.err);
    assert.match(res.err, /reading records from the terminal, one per line \(Ctrl-D ends\)/);
    assert.match(res.out, /^\{"line":1,"ok":true/);
  });
});

describe('a stop while the reader is stuck', () => {
  test('SIGTERM with stdout blocked: exit 143 within the grace period, with the usual message', async () => {
    const pad = 'q'.repeat(2000);
    const input = Buffer.from(Array.from({ length: 3000 }, (_, i) => JSON.stringify({ t: 'stuck', i, pad })).join('\n') + '\n');
    const child = spawn(BINARY, ['--endpoint-url', emu.url, '--endpoint-name', 'demo', '--concurrency', '16'], {
      env: scrubbedEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
    const err: Buffer[] = [];
    child.stderr.on('data', (c: Buffer) => err.push(c));
    // Nobody reads stdout: the pipe fills and the writes block.
    child.stdout.pause();
    for (let i = 0; i < 300 && requestsTagged('stuck') < 300; i++) await new Promise((r) => setTimeout(r, 20));
    const at = Date.now();
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    const ms = Date.now() - at;
    assert.equal(code, 143, Buffer.concat(err).toString());
    assert.ok(ms < 15_000, `stopped after ${ms} ms`);
    assert.match(Buffer.concat(err).toString(), /interrupted: \d+ results written in input order/);
    child.stdout.destroy();
  });
});

describe('--output body', () => {
  test('an empty successful body is "" (an empty line is a failure), and --resume counts it as answered', async () => {
    const dir = tempDir();
    const input = file(dir, 'in.ndjson', [JSON.stringify({ body: '' }), JSON.stringify({ body: 'x' })].join('\n') + '\n');
    const out = join(dir, 'out.txt');
    const r = await run(['--endpoint-name', 'mirror', '--envelope', '--output', 'body', '--accept', 'text/plain', out], input);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(out, 'utf8'), '""\nx\n');
    const again = await run(['--endpoint-name', 'mirror', '--envelope', '--output', 'body', '--accept', 'text/plain', '--resume', out], input);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /2 records already answered/);
  });
});

describe('body mode lines', () => {
  test('only the CR of a CRLF ends a line: abc\\r\\r\\n sends abc\\r, and a final line keeps its CR', async () => {
    const from = emu.log.length;
    const r = await run(['--endpoint-name', 'mirror', '--output', 'body', '--content-type', 'text/plain'], Buffer.from('abc\r\r\ndef\r\nlast\r'));
    assert.equal(r.code, 0, r.stderr);
    const bodies = emu.log
      .slice(from)
      .map((e) => e.body.toString('latin1'))
      .sort();
    assert.deepEqual(bodies, ['abc\r', 'def', 'last\r']);
  });
});

describe('credentials that cannot be sent', () => {
  test('a session token with a newline is one fatal credentials error (exit 3), not a failure per record', async () => {
    const env = scrubbedEnv({ AWS_SESSION_TOKEN: 'IQoJb3JpZ2luX2VjEXAMPLE\nsecond-line' });
    const r = await run(['--endpoint-name', 'demo'], Buffer.from(records(50, 'badtoken')), { env });
    assert.equal(r.code, 3, r.stderr);
    assert.match(
      r.stderr,
      /fatal: could not get AWS credentials: the session token has a newline at position 24 of 35, which cannot be sent in an HTTP header/,
    );
    assert.equal(r.stdout.length, 0);
    assert.equal(requestsTagged('badtoken'), 0);
  });
});

/** Peak resident memory of a running child, sampled from /proc until it exits (VmHWM is the high-water mark). */
function watchPeakRss(pid: number): { stop(): number } {
  let peak = 0;
  const read = (): void => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) * 1024);
    } catch {
      // exited
    }
  };
  const t = setInterval(read, 25);
  return {
    stop: () => {
      clearInterval(t);
      return peak;
    },
  };
}

describe('memory behind a stalled record', () => {
  test('2 MiB answers behind a record that takes 3 s, at --concurrency 32: memory stays bounded, every answer in order', async () => {
    // 100 records of 2 MiB: without a bound in bytes, the 99 answers behind the first are all held
    // (390 MB peak before the bound; 175-190 MB with it, on the development machine).
    const dir = tempDir();
    const pad = 'm'.repeat(2 * 1024 * 1024);
    const path = join(dir, 'big.ndjson');
    const fd = openSync(path, 'w');
    for (let i = 1; i <= 100; i++) writeSync(fd, JSON.stringify({ t: 'mem', i, __emulator: { latencyMs: i === 1 ? 3000 : 0 }, pad }) + '\n');
    closeSync(fd);
    const out = join(dir, 'out.ndjson');
    const input = openSync(path, 'r');
    const child = spawn(BINARY, ['--endpoint-url', emu.url, '--endpoint-name', 'demo', '--concurrency', '32', out], {
      env: scrubbedEnv(),
      stdio: [input, 'ignore', 'pipe'],
    });
    closeSync(input);
    const err: Buffer[] = [];
    child.stderr!.on('data', (c: Buffer) => err.push(c));
    const watch = watchPeakRss(child.pid!);
    const [code] = (await once(child, 'exit')) as [number | null];
    const peak = watch.stop();
    const stderr = Buffer.concat(err).toString();
    assert.equal(code, 0, stderr);
    assert.ok(peak > 0, 'RSS was sampled');
    assert.ok(peak < 240 * 1024 * 1024, `peak RSS ${(peak / 1048576).toFixed(0)} MB`);
    assert.match(stderr, /large records: \d+ in flight fill the memory for records and waiting results \(--max-buffer-mib 32\)/);
    const lines = readFileSync(out, 'utf8').split('\n').filter(Boolean);
    assert.equal(lines.length, 100);
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { line: number }).line),
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
  });
});
