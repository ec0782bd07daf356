// Everyday use end to end: the bundled CLI as a child process against the emulator.
// Progress (on a real pseudo-terminal and off it), --stats / --stats-json, --dry-run, --resume and
// --resume-failed (after a SIGKILL and a torn last line), --debug redaction, and --help.
// The --body comparisons with the AWS CLI are in everyday-awscli.test.ts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, closeSync, copyFileSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FLAG_SPEC } from '../../src/cli/args.js';
import { startEmulator, type Emulator, type RequestLogEntry } from '../../src/emulator/server.js';
import { ACCESS_KEY_ID, BUNDLE, SECRET_ACCESS_KEY, runCli, scrubbedEnv, tempDir } from '../helpers/cli.js';
import { recordOf, until } from '../helpers/faults.js';
import { NO_PYTHON, PYTHON, runCliOnPty } from '../helpers/pty.js';
import { requireTools } from '../helpers/tools.js';

// Temporary credentials for the --debug tests: the emulator accepts this key only with this token.
const SESSION_KEY_ID = 'ASIAEVERYDAYEXAMPLE7';
const SESSION_SECRET = 'sEcReT/everyday+Example0123456789abcdefXY';
const SESSION_TOKEN = 'IQoJb3JpZ2luX2VjEverydaySessionToken/EXAMPLE+0123456789abcdefghij==';

let emu: Emulator;
before(async () => {
  emu = await startEmulator({
    credentials: [
      { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      { accessKeyId: SESSION_KEY_ID, secretAccessKey: SESSION_SECRET, sessionToken: SESSION_TOKEN },
    ],
    endpoints: { demo: {}, mirror: { model: 'mirror' } },
  });
});
after(() => emu.close());

const url = (): string[] => ['--endpoint-url', emu.url];
const since = (from: number, tag: string): RequestLogEntry[] => emu.log.slice(from).filter((e) => e.body.includes(`"t":"${tag}"`));
const parse = (text: string | Buffer): Array<Record<string, any>> =>
  text
    .toString()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, any>);
/** Result files compared byte for byte, except the measured round trip. */
const normalize = (text: string): string => text.replace(/"latencyMs":\d+/g, '"latencyMs":0');
const countLines = (path: string): number => {
  if (!existsSync(path)) return 0;
  const b = readFileSync(path);
  let n = 0;
  for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) n++;
  return n;
};

/** Writes `lines` (one record each) to a fresh file and returns its path. */
function inputFile(lines: string[], name = 'in.ndjson'): string {
  const path = join(tempDir(), name);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

/** Body-mode records tagged `t`, each with an emulator directive. */
const records = (tag: string, n: number, directive: (i: number) => Record<string, unknown>): string[] =>
  Array.from({ length: n }, (_, k) => JSON.stringify({ t: tag, i: k + 1, __emulator: directive(k + 1) }));

interface FileRun {
  proc: ReturnType<typeof spawn>;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: Buffer; stderr: string }>;
}

/** `node dist/sm-invoke.cjs ...args < file`: stdin is a regular file, as in `sm-invoke < in.ndjson`. */
function startWithFile(args: string[], stdinPath: string, env = scrubbedEnv()): FileRun {
  const fd = openSync(stdinPath, 'r');
  const proc = spawn(process.execPath, [BUNDLE, ...args], { env, stdio: [fd, 'pipe', 'pipe'] });
  closeSync(fd);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  proc.stdout!.on('data', (c: Buffer) => out.push(c));
  proc.stderr!.on('data', (c: Buffer) => err.push(c));
  const done = (async () => {
    const [code, signal] = (await once(proc, 'close')) as [number | null, NodeJS.Signals | null];
    return { code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') };
  })();
  return { proc, done };
}
const runWithFile = (args: string[], stdinPath: string, env?: Record<string, string>) => startWithFile(args, stdinPath, env).done;

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// --- progress ---------------------------------------------------------------------------------

const PROGRESS = /^(\d+) done, (\d+) failed, (\d+) retried, (\d+) in flight, (\d+)\/s(?:, (\d+\.\d)%(?:, ETA (\S+))?)?$/;

describe('progress', { concurrency: true }, () => {
  test('on a terminal: a status line at most ~10 times a second, cleared at the end; stdout has only results', async () => {
    requireTools(PYTHON === undefined && NO_PYTHON);
    // 160 records, 4 at a time, 40 ms each: at least 1.6 s. Line 1 fails, line 2 is throttled once.
    const N = 160;
    const lines = records('tty', N, (i) => (i === 1 ? { fault: 'model-error' } : i === 2 ? { fault: 'throttle', times: 1 } : { latencyMs: 40 }));
    const r = await runCliOnPty(
      [...url(), '--endpoint-name', 'demo', '--content-type', 'application/json', '--concurrency', '4'],
      inputFile(lines),
      scrubbedEnv(),
    );
    assert.equal(r.code, 1, r.stderr);

    // stdout: the results and nothing else.
    assert.deepEqual(
      parse(r.stdout).map((l) => l.line),
      Array.from({ length: N }, (_, i) => i + 1),
    );
    assert.ok(!r.stdout.includes('\x1b') && !r.stdout.includes('\r'), 'no terminal codes on stdout');

    // stderr: redraws, each `\r\x1b[K` + the status line, then a last clear and the stats block.
    const parts = r.stderr.split('\r\x1b[K');
    assert.equal(parts[0], '', 'the status line starts with a clear');
    const redraws = parts.slice(1, -1);
    const stats = parts[parts.length - 1]!;
    assert.match(
      stats,
      /^records: 160 \(159 ok, 1 failed, 0 skipped\)\nattempts: 161 \(1 retries, 1 throttled\)\ntime: \d+\.\d\ds, \d+\.\d records\/s\nlatency: p50 [\d.]+ms, p90 [\d.]+ms, p99 [\d.]+ms, max \d+ms\nsm-invoke: 160 records: 159 ok, 1 failed \(ModelError 1\); first failed line: 1; results in standard output\nsm-invoke: {3}.*\n$/,
      'the line is cleared before the stats, which are always shown on a terminal, and the failures summary',
    );
    assert.ok(redraws.length >= 3, `${redraws.length} redraws in ${Math.round(r.ms)} ms`);
    // At most ~10 a second: generous, but a redraw per record (160) or per ms would fail it.
    assert.ok(redraws.length <= (r.ms / 1000) * 12 + 2, `${redraws.length} redraws in ${Math.round(r.ms)} ms`);
    const parsed = redraws.map((text) => {
      const m = PROGRESS.exec(text);
      assert.ok(m, `a status line: ${JSON.stringify(text)}`);
      return { done: Number(m[1]), failed: Number(m[2]), retried: Number(m[3]), inFlight: Number(m[4]), rate: Number(m[5]), pct: m[6], eta: m[7] };
    });
    for (const p of parsed) {
      assert.ok(p.inFlight <= 4, 'in flight never above --concurrency');
      assert.ok(p.pct !== undefined, 'stdin is a regular file: the percentage is shown');
    }
    for (let i = 1; i < parsed.length; i++) {
      assert.ok(parsed[i]!.done >= parsed[i - 1]!.done, 'done never goes back');
      assert.ok(Number(parsed[i]!.pct) >= Number(parsed[i - 1]!.pct), 'the percentage never goes back');
    }
    // The percentage follows the records taken, not stdin's read-ahead (a small file is read at once).
    assert.ok(Math.min(...parsed.map((p) => Number(p.pct))) < 50, `percentages: ${parsed.map((p) => p.pct).join(' ')}`);
    const last = parsed[parsed.length - 1]!;
    assert.deepEqual([last.failed, last.retried], [1, 1], 'the failure and the retry are counted');
    assert.ok(
      parsed.some((p) => p.inFlight > 0 && p.rate > 0),
      'records/s and in flight are live',
    );
    assert.ok(
      parsed.some((p) => p.eta !== undefined && /^\d+s$/.test(p.eta)),
      'an ETA once the run has gone on for a second',
    );
  });

  test('stdout on the same terminal: every result starts on a line of its own, never after the status line', async () => {
    requireTools(PYTHON === undefined && NO_PYTHON);
    // One at a time, 30 ms each: a redraw lands between most results.
    const lines = records('tty-both', 40, () => ({ latencyMs: 30 }));
    const r = await runCliOnPty(
      [...url(), '--endpoint-name', 'demo', '--content-type', 'application/json', '--concurrency', '1', '--no-stats'],
      inputFile(lines),
      scrubbedEnv(),
      true,
    );
    assert.equal(r.code, 0, r.stderr);
    const screen = r.stderr;
    const starts = [...screen.matchAll(/\{"line":(\d+),/g)];
    assert.deepEqual(
      starts.map((m) => Number(m[1])),
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    assert.ok(screen.includes('\r\x1b[K1'), 'the status line was drawn');
    for (const m of starts) {
      const before = screen.slice(0, m.index);
      assert.ok(before === '' || before.endsWith('\n') || before.endsWith('\r\x1b[K'), `result ${m[1]} follows ${JSON.stringify(before.slice(-60))}`);
    }
    // What is left once the status line's redraws are taken out is exactly the results.
    const text = screen.replace(/\r\x1b\[K[^\r\n{]*/g, '');
    assert.deepEqual(
      parse(text).map((l) => l.line),
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
  });

  test('not a terminal: no status line and no stats unless asked; only the summary of what failed', async () => {
    const lines = records('quiet', 30, (i) => (i === 3 ? { fault: 'model-error' } : { latencyMs: 20 }));
    const r = await runWithFile([...url(), '--endpoint-name', 'demo', '--concurrency', '2'], inputFile(lines));
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^sm-invoke: 30 records: 29 ok, 1 failed \(ModelError 1\); first failed line: 3; results in standard output\nsm-invoke: {3}[^\n]+\n$/,
    );
    assert.equal(parse(r.stdout).length, 30);
  });

  test('--progress on a pipe: plain lines about once a second, no percentage without a known size', async () => {
    // 230 records, 4 at a time, 40 ms each: at least 2.3 s.
    const lines = records('plain', 230, () => ({ latencyMs: 40 }));
    const started = Date.now();
    const r = await runCli([...url(), '--endpoint-name', 'demo', '--concurrency', '4', '--progress'], { input: lines.join('\n') + '\n' });
    const ms = Date.now() - started;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.lines.length, 230);
    assert.ok(!r.stderr.includes('\r') && !r.stderr.includes('\x1b'), 'no terminal codes off a terminal');
    const status = r.stderr.split('\n').filter(Boolean);
    assert.ok(status.length >= 1 && status.length <= ms / 1000 + 1, `${status.length} lines in ${ms} ms`);
    for (const s of status) {
      const m = /^sm-invoke: (.*)$/.exec(s);
      assert.ok(m && PROGRESS.test(m[1]!), s);
      assert.ok(!s.includes('%'), 'stdin is a pipe: no percentage');
    }
  });
});

// --- stats ------------------------------------------------------------------------------------

describe('stats', () => {
  test('--stats and --stats-json on a known mix: ok, failed, skipped, attempts, retries, throttles, latency', async () => {
    const dir = tempDir();
    const jsonPath = join(dir, 'stats.json');
    const body = (i: number, d: Record<string, unknown>) => JSON.stringify({ body: { t: 'stats', i, __emulator: d } });
    const input =
      [
        ...[1, 2, 3, 4, 5, 6].map((i) => body(i, { latencyMs: 20 })),
        body(7, { fault: 'model-error' }), // failed, 1 attempt
        body(8, { fault: 'throttle', times: 1, latencyMs: 20 }), // ok after 2 attempts: 1 retry, 1 throttle
        '{"body": oops', // failed, never sent
        body(10, { latencyMs: 300 }), // the slowest
      ].join('\n') + '\n';
    const r = await runCli([...url(), '--endpoint-name', 'demo', '--envelope', '--concurrency', '4', '--stats', '--stats-json', jsonPath], { input });
    assert.equal(r.code, 1);
    assert.deepEqual(
      r.lines.map((l) => l.ok),
      [true, true, true, true, true, true, false, true, false, true],
      'stdout holds the results only',
    );

    const s = JSON.parse(readFileSync(jsonPath, 'utf8'));
    // (The whole key set is pinned in tell-the-user.test.ts.)
    for (const k of [
      'attempts',
      'failed',
      'fatal',
      'inFlight',
      'latencyMs',
      'ok',
      'records',
      'recordsPerSecond',
      'resumed',
      'retries',
      'skipped',
      'stoppedBy',
      'throttles',
      'wallMs',
    ]) {
      assert.ok(k in s, k);
    }
    assert.deepEqual(
      {
        records: s.records,
        ok: s.ok,
        failed: s.failed,
        skipped: s.skipped,
        resumed: s.resumed,
        inFlight: s.inFlight,
        attempts: s.attempts,
        retries: s.retries,
        throttles: s.throttles,
        stoppedBy: s.stoppedBy,
        fatal: s.fatal,
      },
      { records: 10, ok: 8, failed: 2, skipped: 0, resumed: 0, inFlight: 0, attempts: 10, retries: 1, throttles: 1, stoppedBy: null, fatal: null },
    );
    const l = s.latencyMs;
    assert.deepEqual(Object.keys(l).sort(), ['max', 'p50', 'p90', 'p99']);
    assert.ok(l.max >= 300 && l.max < 5000, `max ${l.max}`);
    assert.ok(l.p50 >= 15 && l.p50 < 300, `p50 ${l.p50}: most records took ~20 ms`);
    assert.ok(l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max, JSON.stringify(l));
    assert.ok(s.wallMs >= 300, `wallMs ${s.wallMs}`);
    assert.ok(Math.abs(s.recordsPerSecond - (10 * 1000) / s.wallMs) < 0.1, 'records/s is records answered over wall time (rounded)');

    // The text summary says the same, from the same moment.
    assert.equal(
      r.stderr,
      [
        `records: 10 (8 ok, 2 failed, 0 skipped)`,
        `attempts: 10 (1 retries, 1 throttled)`,
        `time: ${(s.wallMs / 1000).toFixed(2)}s, ${s.recordsPerSecond.toFixed(1)} records/s`,
        `latency: p50 ${l.p50}ms, p90 ${l.p90}ms, p99 ${l.p99}ms, max ${l.max}ms`,
        'sm-invoke: 10 records: 8 ok, 2 failed (InvalidJson 1, ModelError 1); first failed lines: 7, 9; results in standard output',
        'sm-invoke:   the failed results have "ok":false and an "error"; to send them again later, write results to an outfile and use --resume-failed',
        '',
      ].join('\n'),
    );
  });

  test('--stats-json alone adds nothing on stderr; a run stopped by --max-errors reports why and what it skipped', async () => {
    const jsonPath = join(tempDir(), 'stats.json');
    const lines = records('maxerr', 20, (i) => (i === 1 ? { fault: 'model-error' } : { latencyMs: 50 }));
    const r = await runCli([...url(), '--endpoint-name', 'demo', '--concurrency', '2', '--max-errors', '1', '--stats-json', jsonPath], {
      input: lines.join('\n') + '\n',
    });
    assert.equal(r.code, 4);
    assert.match(
      r.stderr,
      /^sm-invoke: \d+ records read: \d+ ok, 1 failed \(ModelError 1\); (\d+ not answered; )?first failed line: 1; results in standard output\nsm-invoke: stopped after 1 failed records \(--max-errors 1\); \d+ results written\nsm-invoke: {3}the results went to standard output: to be able to continue a stopped run, give an outfile and then --resume\n$/,
    );
    const s = JSON.parse(readFileSync(jsonPath, 'utf8'));
    assert.equal(s.stoppedBy, 'max-errors');
    assert.equal(s.failed, 1);
    assert.equal(s.ok + s.failed, r.lines.length, 'every answered record was written');
    assert.equal(s.skipped, s.records - s.ok - s.failed, 'read but never answered');
    assert.ok(s.records < 20, 'it stopped reading');
  });
});

// --- dry run ----------------------------------------------------------------------------------

describe('--dry-run', () => {
  const input =
    [
      { body: { x: 1 }, inferenceId: 'dry-1', customAttributes: 'trace=1', contentType: 'application/json', meta: { k: 1 } },
      { body: 2, targetVariant: 'bad name!' },
      '{"body": oops',
      { bodyy: 3 },
      '',
      { bodyBase64: Buffer.from([0, 0xff, 0xfe, 0x80]).toString('base64'), endpointName: 'mirror' },
      { body: 'x'.repeat(200) },
    ]
      .map((v) => (typeof v === 'string' ? v : JSON.stringify(v)))
      .join('\n') + '\n';

  test("no credentials and no network: one line per record with the request; invalid records get a real run's errors", async () => {
    const port = await closedPort();
    const dry = await runCli(['--endpoint-url', `http://127.0.0.1:${port}`, '--endpoint-name', 'demo', '--envelope', '--dry-run'], {
      input,
      env: scrubbedEnv({}, false),
    });
    assert.equal(dry.code, 1, dry.stderr);
    assert.equal(
      dry.stderr,
      'sm-invoke: 6 records: 3 ok, 3 failed (InvalidRecord 2, InvalidJson 1); first failed lines: 2, 3, 4; results in standard output\n' +
        'sm-invoke:   (--dry-run) the failed records are not valid: their results say which field and why\n',
    );
    assert.deepEqual(
      dry.lines.map((l) => l.line),
      [1, 2, 3, 4, 6, 7],
      'one line per record; the blank line is not one',
    );

    const base = `http://127.0.0.1:${port}`;
    const [a, , , , f, g] = dry.lines;
    assert.deepEqual(a, {
      line: 1,
      inferenceId: 'dry-1',
      ok: true,
      meta: { k: 1 },
      request: {
        method: 'POST',
        url: `${base}/endpoints/demo/invocations`,
        headers: {
          host: `127.0.0.1:${port}`,
          'content-length': '7',
          'user-agent': a!.request.headers['user-agent'],
          'content-type': 'application/json',
          'x-amzn-sagemaker-custom-attributes': 'trace=1',
          'x-amzn-sagemaker-inference-id': 'dry-1',
        },
        bodyBytes: 7,
        bodyPreview: '{"x":1}',
      },
    });
    assert.match(a!.request.headers['user-agent'], /^sm-invoke\//);
    assert.equal(f!.request.url, `${base}/endpoints/mirror/invocations`);
    assert.equal(f!.request.bodyBytes, 4);
    assert.equal(f!.request.bodyPreview, 'base64:AP/+gA==', 'a binary body is previewed as base64');
    assert.equal(g!.request.bodyBytes, 200, 'a string body is sent as its text');
    assert.ok(g!.request.bodyPreview.length <= 81 && g!.request.bodyPreview.endsWith('…'), 'a long body: a short preview');
    for (const l of dry.lines.filter((x) => x.ok)) {
      assert.equal(l.request.method, 'POST');
      for (const h of Object.keys(l.request.headers)) assert.doesNotMatch(h, /^(authorization|x-amz-)/i, 'nothing signed, no credential');
    }

    // The same input for real: the invalid records' results are identical.
    const real = await runCli([...url(), '--endpoint-name', 'demo', '--envelope'], { input });
    assert.equal(real.code, 1, real.stderr);
    assert.deepEqual(
      real.lines.map((l) => l.ok),
      [true, false, false, false, true, true],
    );
    for (const i of [1, 2, 3]) assert.deepEqual(dry.lines[i], real.lines[i], `line ${dry.lines[i]!.line}`);
    assert.deepEqual(
      dry.lines.slice(1, 4).map((l) => l.error.code),
      ['InvalidRecord', 'InvalidJson', 'InvalidRecord'],
    );
  });

  test('exit 0 when every record is valid; --output body describes the requests and reports errors as a real run does', async () => {
    const port = await closedPort();
    const args = ['--endpoint-url', `http://127.0.0.1:${port}`, '--endpoint-name', 'demo', '--dry-run'];
    const statsPath = join(tempDir(), 'stats.json');
    const ok = await runCli([...args, '--stats-json', statsPath], { input: 'a\nb\n', env: scrubbedEnv({}, false) });
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(
      ok.lines.map((l) => [l.line, l.request.bodyPreview]),
      [
        [1, 'a'],
        [2, 'b'],
      ],
    );
    const stats = JSON.parse(readFileSync(statsPath, 'utf8'));
    assert.deepEqual([stats.records, stats.ok, stats.failed, stats.attempts], [2, 2, 0, 0], 'nothing was sent');
    assert.deepEqual(stats.latencyMs, { p50: null, p90: null, p99: null, max: null }, 'no latency: null, not missing');

    const body = await runCli([...args, '--envelope', '--output', 'body'], { input, env: scrubbedEnv({}, false) });
    const real = await runCli([...url(), '--endpoint-name', 'demo', '--envelope', '--output', 'body'], { input });
    assert.equal(body.code, 1);
    assert.equal(body.stderr, real.stderr, 'the same messages for the invalid records');
    const out = body.stdout.toString().split('\n');
    assert.equal(out.length, 7, 'six lines and the final newline');
    assert.deepEqual(out.slice(1, 4), ['', '', ''], 'an invalid record leaves an empty line, as in a real run');
    for (const i of [0, 4, 5]) assert.equal(JSON.parse(out[i]!).request.method, 'POST', `line ${i + 1} describes its request`);
  });

  test('--dry-run does not go with --resume: usage error', async () => {
    const r = await runCli([...url(), '--endpoint-name', 'demo', '--dry-run', '--resume', join(tempDir(), 'o')], { input: 'x\n' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^sm-invoke: --dry-run cannot resume an outfile\n$/);
  });
});

// --- resume -----------------------------------------------------------------------------------

describe('--resume', () => {
  test('SIGKILL mid-run and a torn last line, then --resume: the same file as an uninterrupted run; each record sent once but for those in flight', async () => {
    const N = 3000;
    const CONCURRENCY = 8;
    const input = inputFile(records('kill', N, () => ({ latencyMs: 1 })));
    const dir = tempDir();
    const out = join(dir, 'out.ndjson');
    const args = [...url(), '--endpoint-name', 'demo', '--concurrency', String(CONCURRENCY)];
    const from = emu.log.length;

    const first = startWithFile([...args, out], input);
    assert.ok(await until(() => countLines(out) >= 300, 30_000), 'the first run writes results');
    first.proc.kill('SIGKILL');
    const killed = await first.done;
    assert.equal(killed.signal, 'SIGKILL');
    const atKill = countLines(out);
    assert.ok(atKill < N, `killed mid-run (${atKill} of ${N} lines)`);
    const sentBeforeResume = since(from, 'kill').length;
    // A crash in the middle of a write: half a line at the end.
    const torn = '{"line":99999,"ok":true,"stat';
    appendFileSync(out, torn);

    const resumed = await runWithFile([...args, '--resume', '--stats-json', join(dir, 'stats.json'), out], input);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(resumed.stderr, `sm-invoke: resuming ${out}: ${atKill} records already answered (dropping a torn last line of ${torn.length} bytes)\n`);
    const stats = JSON.parse(readFileSync(join(dir, 'stats.json'), 'utf8'));
    assert.deepEqual([stats.records, stats.resumed, stats.ok, stats.failed, stats.skipped], [N, atKill, N - atKill, 0, 0]);

    // Every record reached the service; a record sent twice is one that was in flight at the kill:
    // sent but with no line in the file yet. That is at most the ordered window of started records
    // (4 x --concurrency: in flight plus answered-but-waiting-for-an-earlier-one).
    const sent = since(from, 'kill');
    const perRecord = new Map<number, number>();
    for (const e of sent) perRecord.set(recordOf(e.body)!, (perRecord.get(recordOf(e.body)!) ?? 0) + 1);
    assert.equal(perRecord.size, N, 'every record was sent');
    const twice = [...perRecord.entries()].filter(([, n]) => n > 1);
    assert.ok(
      twice.every(([i, n]) => n === 2 && i > atKill),
      `sent twice: ${JSON.stringify(twice.slice(0, 10))}`,
    );
    assert.equal(sent.length, N + twice.length);
    assert.ok(twice.length <= 4 * CONCURRENCY, `${twice.length} records sent twice (${sentBeforeResume - atKill} unanswered at the kill)`);

    // The uninterrupted run of the same input.
    const whole = join(dir, 'whole.ndjson');
    const full = await runWithFile([...args, whole], input);
    assert.equal(full.code, 0, full.stderr);
    const got = readFileSync(out, 'utf8');
    assert.equal(countLines(out), N);
    assert.ok(normalize(got) === normalize(readFileSync(whole, 'utf8')), 'the resumed file equals an uninterrupted run (latencyMs aside)');
  });

  test('--resume on a file that does not exist is a fresh run', async () => {
    const input = inputFile(records('fresh', 5, () => ({})));
    const out = join(tempDir(), 'new.ndjson');
    const r = await runWithFile([...url(), '--endpoint-name', 'demo', '--resume', out], input);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout.length, 0);
    assert.deepEqual(
      parse(readFileSync(out)).map((l) => [l.line, l.ok]),
      [
        [1, true],
        [2, true],
        [3, true],
        [4, true],
        [5, true],
      ],
    );
  });

  test('--resume on a finished file sends nothing and changes nothing', async () => {
    const input = inputFile(records('finished', 5, () => ({})));
    const out = join(tempDir(), 'out.ndjson');
    assert.equal((await runWithFile([...url(), '--endpoint-name', 'demo', out], input)).code, 0);
    const before = readFileSync(out);
    const from = emu.log.length;
    const r = await runWithFile([...url(), '--endpoint-name', 'demo', '--resume', out], input);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(since(from, 'finished').length, 0);
    assert.deepEqual(readFileSync(out), before);
  });

  test('--resume with a different input: exit 2, a clear message, the file unchanged', async () => {
    const dir = tempDir();
    const original = inputFile(records('other', 10, () => ({})));
    const out = join(dir, 'out.ndjson');
    assert.equal((await runWithFile([...url(), '--endpoint-name', 'demo', out], original)).code, 0);
    // Interrupted after 6 answers, in the middle of the 7th.
    const text = readFileSync(out, 'utf8');
    const cut = text.split('\n').slice(0, 6).join('\n') + '\n' + text.split('\n')[6]!.slice(0, 40);
    writeFileSync(out, cut);

    const shorter = inputFile(records('other', 4, () => ({})));
    const shifted = join(dir, 'shifted.ndjson');
    writeFileSync(shifted, '\n' + readFileSync(original, 'utf8'));
    const cases: Array<[string, string, RegExp]> = [
      [
        'fewer records',
        shorter,
        /^sm-invoke: --resume: the outfile has 6 results but this input has only 4 records: not the same input; nothing was changed in .*out\.ndjson$/m,
      ],
      [
        'lines shifted by a blank line',
        shifted,
        // (The digest file proves each answered record: the first shifted one is refused.)
        /^sm-invoke: --resume: record 1 of this input \(line 2\) is not the record that the outfile's result 1 answers \(its digest in .*out\.ndjson\.sm-invoke\.digests differs\): not the same input; nothing was changed in .*out\.ndjson$/m,
      ],
    ];
    for (const [what, input, message] of cases) {
      const from = emu.log.length;
      const r = await runWithFile([...url(), '--endpoint-name', 'demo', '--resume', out], input);
      assert.equal(r.code, 2, `${what}: ${r.stderr}`);
      assert.match(r.stderr, message, what);
      assert.equal(readFileSync(out, 'utf8'), cut, `${what}: the file (torn line included) is unchanged`);
      assert.equal(since(from, 'other').length, 0, `${what}: nothing sent`);
    }
    // --resume-failed writes through a temporary file: the outfile is untouched and the temporary file goes.
    const r = await runWithFile([...url(), '--endpoint-name', 'demo', '--resume-failed', out], shorter);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^sm-invoke: --resume-failed: the outfile has 6 results but this input has only 4 records: not the same input; nothing was changed in /m,
    );
    assert.equal(readFileSync(out, 'utf8'), cut);
    assert.ok(!existsSync(`${out}.sm-invoke-partial`), 'no temporary file left behind');
  });

  test('--resume with different records on the same lines: the digests tell them apart', async () => {
    const dir = tempDir();
    const envelopes = (tag: string, ids: (i: number) => Record<string, unknown>) =>
      inputFile(Array.from({ length: 8 }, (_, k) => JSON.stringify({ body: { t: tag, i: k + 1 }, ...ids(k + 1) })));
    const original = envelopes('ident', (i) => ({ inferenceId: `rec-${i}`, meta: { id: i, src: 'a' } }));
    const out = join(dir, 'out.ndjson');
    const args = [...url(), '--endpoint-name', 'demo', '--envelope'];
    assert.equal((await runWithFile([...args, out], original)).code, 0);
    const cut = readFileSync(out, 'utf8').split('\n').slice(0, 5).join('\n') + '\n';
    writeFileSync(out, cut);

    const cases: Array<[string, string, RegExp]> = [
      [
        'other inference ids',
        envelopes('ident', (i) => ({ inferenceId: `day2-${i}`, meta: { id: i, src: 'a' } })),
        /--resume: record 1 of this input \(line 1\) is not the record that the outfile's result 1 answers .*: not the same input; nothing was changed in /,
      ],
      [
        'other meta',
        envelopes('ident', (i) => ({ inferenceId: `rec-${i}`, meta: { id: i, src: 'b' } })),
        /--resume: record 1 of this input \(line 1\) is not the record .*: not the same input/,
      ],
      [
        'no meta at all',
        envelopes('ident', (i) => ({ inferenceId: `rec-${i}` })),
        /--resume: record 1 of this input \(line 1\) is not the record .*: not the same input/,
      ],
    ];
    for (const [what, input, message] of cases) {
      const from = emu.log.length;
      const r = await runWithFile([...args, '--resume', out], input);
      assert.equal(r.code, 2, `${what}: ${r.stderr}`);
      assert.match(r.stderr, message, what);
      assert.equal(readFileSync(out, 'utf8'), cut, `${what}: the file is unchanged`);
      assert.equal(since(from, 'ident').length, 0, `${what}: nothing sent`);
    }
    // The same input resumes.
    const r = await runWithFile([...args, '--resume', out], original);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      parse(readFileSync(out)).map((l) => l.meta.id),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
  });

  test('--resume-failed sends again exactly the failed records; the file equals an all-success run', async () => {
    const dir = tempDir();
    // Every 5th record fails its first attempt only (a ModelError, not retried): the next run succeeds.
    const input = inputFile(records('rf', 30, (i) => (i % 5 === 0 ? { fault: 'model-error', times: 1 } : {})));
    const args = [...url(), '--endpoint-name', 'demo', '--concurrency', '4', '--max-attempts', '1'];
    const out = join(dir, 'out.ndjson');
    const failing = [5, 10, 15, 20, 25, 30];

    let from = emu.log.length;
    const first = await runWithFile([...args, out], input);
    assert.equal(first.code, 1, first.stderr);
    assert.deepEqual(
      parse(readFileSync(out))
        .filter((l) => !l.ok)
        .map((l) => l.line),
      failing,
    );
    assert.equal(since(from, 'rf').length, 30);
    // A copy interrupted in the middle of line 18: 17 answers (3 of them failures) and a torn line.
    const partial = join(dir, 'partial.ndjson');
    const lines = readFileSync(out, 'utf8').split('\n');
    writeFileSync(partial, lines.slice(0, 17).join('\n') + '\n' + lines[17]!.slice(0, 25));
    copyFileSync(`${out}.sm-invoke.digests`, `${partial}.sm-invoke.digests`); // (a copy takes its digest file along)

    from = emu.log.length;
    const again = await runWithFile([...args, '--resume-failed', '--stats-json', join(dir, 'stats.json'), out], input);
    assert.equal(again.code, 0, again.stderr);
    // (It says what it sends: the failed ones, not all 30.)
    assert.equal(again.stderr, `sm-invoke: resuming ${out}: ${failing.length} of its 30 results failed and are sent again, with any records after them\n`);
    const stats = JSON.parse(readFileSync(join(dir, 'stats.json'), 'utf8'));
    assert.deepEqual([stats.records, stats.resumed, stats.ok, stats.failed, stats.skipped, stats.attempts], [30, 24, 6, 0, 0, 6]);
    assert.deepEqual(
      since(from, 'rf')
        .map((e) => recordOf(e.body))
        .sort((a, b) => a! - b!),
      failing,
      'only the failed records are sent again, once',
    );
    assert.ok(!existsSync(`${out}.sm-invoke-partial`), 'no temporary file left behind');

    from = emu.log.length;
    const rest = await runWithFile([...args, '--resume-failed', partial], input);
    assert.equal(rest.code, 0, rest.stderr);
    assert.match(rest.stderr, /3 of its 17 results failed and are sent again, with any records after them \(dropping a torn last line of 25 bytes\)/);
    assert.deepEqual(
      since(from, 'rf')
        .map((e) => recordOf(e.body))
        .sort((a, b) => a! - b!),
      [5, 10, 15, ...Array.from({ length: 13 }, (_, k) => 18 + k)],
      'the failed among the first 17, then the records not answered yet',
    );

    // The directives are used up now, so a fresh run of the same input succeeds everywhere.
    const clean = join(dir, 'clean.ndjson');
    assert.equal((await runWithFile([...args, clean], input)).code, 0);
    const want = normalize(readFileSync(clean, 'utf8'));
    assert.equal(parse(want).filter((l) => l.ok).length, 30);
    assert.ok(normalize(readFileSync(out, 'utf8')) === want, '--resume-failed: the file equals an all-success run (latencyMs aside)');
    assert.ok(normalize(readFileSync(partial, 'utf8')) === want, '--resume-failed on an interrupted file: likewise');
  });
});

// --- debug ------------------------------------------------------------------------------------

describe('--debug', () => {
  const sessionEnv = (extra: Record<string, string> = {}) =>
    scrubbedEnv({
      AWS_ACCESS_KEY_ID: SESSION_KEY_ID,
      AWS_SECRET_ACCESS_KEY: SESSION_SECRET,
      AWS_SESSION_TOKEN: SESSION_TOKEN,
      ...extra,
    });
  const assertNoSecrets = (bytes: Buffer, what: string): void => {
    for (const [name, secret] of [
      ['secret key', SESSION_SECRET],
      ['session token', SESSION_TOKEN],
      ['full access key id', SESSION_KEY_ID],
    ] as const) {
      assert.equal(bytes.indexOf(secret), -1, `${what}: the ${name} is written nowhere`);
    }
  };

  test('every attempt: canonical request, redacted headers, status, timing, retry decision; no secret in any byte written', async () => {
    const input = records('debug', 3, (i) => (i === 2 ? { fault: 'throttle', times: 1 } : i === 3 ? { fault: 'model-error' } : {})).join('\n') + '\n';
    const from = emu.log.length;
    const r = await runCli([...url(), '--endpoint-name', 'demo', '--content-type', 'application/json', '--concurrency', '1', '--debug', '--stats'], {
      input,
      env: sessionEnv(),
    });
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(
      r.lines.map((l) => l.ok),
      [true, true, false],
    );
    const sent = since(from, 'debug');
    assert.equal(sent.length, 4);
    for (const e of sent) {
      assert.equal(e.accessKeyId, SESSION_KEY_ID);
      assert.equal(e.headers['x-amz-security-token'], SESSION_TOKEN, 'the token was sent, and accepted');
    }
    assertNoSecrets(Buffer.concat([r.stdout, Buffer.from(r.stderr)]), 'stdout + stderr');

    // One block per attempt (`debug: line N attempt M`), after the run's `debug: network:` lines.
    assert.match(r.stderr, /^sm-invoke: debug: network: no proxy/m);
    const attempts = r.stderr.split(/^(?=sm-invoke: debug: )/m).filter((b) => b.startsWith('sm-invoke: debug: line '));
    assert.equal(attempts.length, 4, r.stderr);
    const [a1, a2, a3, a4] = attempts as [string, string, string, string];
    assert.match(a1, new RegExp(`^sm-invoke: debug: line 1 attempt 1: POST ${emu.url}/endpoints/demo/invocations \\(\\d+ bytes\\)\n`));
    // The canonical request, as SigV4 builds it from the headers sent.
    const canon = / {2}canonical request:\n((?: {4}.*\n)+)/
      .exec(a1)![1]!
      .split('\n')
      .map((l) => l.slice(4));
    assert.deepEqual(canon.slice(0, 3), ['POST', '/endpoints/demo/invocations', '']);
    assert.ok(canon.includes('content-type:application/json'));
    assert.ok(canon.includes(`host:${new URL(emu.url).host}`));
    assert.ok(canon.includes('x-amz-security-token:<redacted>'));
    assert.ok(canon.some((l) => /^x-amz-date:\d{8}T\d{6}Z$/.test(l)));
    assert.ok(
      canon.some((l) => /^amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;.*x-amz-security-token$/.test(l)),
      'the signed header list',
    );
    const headers = JSON.parse(/^ {2}headers: (.*)$/m.exec(a1)![1]!) as Record<string, string>;
    assert.match(
      headers.authorization!,
      /^AWS4-HMAC-SHA256 Credential=ASIA\*\*\*\*\/\d{8}\/us-east-1\/sagemaker\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=<redacted>$/,
    );
    assert.equal(headers['x-amz-security-token'], '<redacted>');
    assert.match(a1, /\n {2}-> 200 in \d+ ms; done\n$/);
    assert.match(a2, /^sm-invoke: debug: line 2 attempt 1: /);
    assert.match(a2, /\n {2}-> 400 ThrottlingException: .* in \d+ ms; retry in \d+ ms \(throttling\)\n$/);
    assert.match(a3, /^sm-invoke: debug: line 2 attempt 2: [\s\S]*\n {2}-> 200 in \d+ ms; done\n$/);
    assert.match(
      a4,
      /^sm-invoke: debug: line 3 attempt 1: [\s\S]*\n {2}-> 424 ModelError: Received client error .* in \d+ ms; give up: ModelError is not retried\n/,
    );
    assert.match(r.stderr, /\nrecords: 3 \(2 ok, 1 failed, 0 skipped\)\n/, 'the summary follows the log');
  });

  test('a wrong secret with --debug: the fatal attempt is logged, and still no secret or token anywhere', async () => {
    const wrongSecret = 'wrongSecretEXAMPLE/0123456789abcdefghijklm';
    const r = await runCli([...url(), '--endpoint-name', 'demo', '--debug'], {
      input: '{"t":"debug-bad"}\n',
      env: sessionEnv({ AWS_SECRET_ACCESS_KEY: wrongSecret }),
    });
    assert.equal(r.code, 3);
    const all = Buffer.concat([r.stdout, Buffer.from(r.stderr)]);
    assertNoSecrets(all, 'stdout + stderr');
    assert.equal(all.indexOf(wrongSecret), -1, 'the wrong secret is not written either');
    // AWS's InvalidSignatureException message quotes the canonical request (token included): only its first line is shown.
    assert.match(r.stderr, /\n {2}-> 403 InvalidSignatureException: The request signature we calculated does not match[^\n]*; fatal: stopping the run\n/);
    assert.match(r.stderr, /^sm-invoke: fatal: InvalidSignatureException: /m);
  });
});

// --- help -------------------------------------------------------------------------------------

describe('--help', () => {
  test('lists every option, its environment variables, and three worked examples', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
    const help = r.stdout.toString();
    for (const [flag, spec] of Object.entries(FLAG_SPEC)) {
      assert.match(help, new RegExp(`(^|[\\s,])--${flag}(?![\\w-])`, 'm'), `--${flag} is listed`);
      const short = (spec as { short?: string }).short;
      if (short) assert.match(help, new RegExp(`(^|\\s)-${short},`, 'm'), `-${short} is listed`);
    }
    for (const env of [
      'AWS_REGION',
      'AWS_DEFAULT_REGION',
      'AWS_PROFILE',
      'AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME',
      'AWS_ENDPOINT_URL',
      'AWS_MAX_ATTEMPTS',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
    ]) {
      assert.ok(help.includes(env), `${env} is named`);
    }
    for (const d of ['default 8', 'default 70', 'default 10', 'default 3', 'default 256', 'default 9437184', 'default 0 = never']) {
      assert.ok(help.includes(d), `"${d}" is shown`);
    }
    assert.ok(help.includes('\nExamples:\n'));
    // Each example: a `# what it does` line, then the command (continued with `\`), then a blank line.
    const examples = help
      .slice(help.indexOf('\nExamples:\n') + 11)
      .trim()
      .split(/\n\s*\n/);
    assert.equal(examples.length, 3, 'three worked examples');
    for (const e of examples) {
      const [comment, ...command] = e.split('\n').map((l) => l.trim());
      assert.match(comment!, /^# \w/, e);
      assert.match(command.join(' '), /(^|\| |\* )sm-invoke --endpoint-name /, e);
    }
  });
});
