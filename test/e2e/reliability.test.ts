// Reliability end to end: the bundled CLI as a child process against the emulator.
// Fault injection, fatal errors, --max-errors, signals, a closed stdout, credentials that expire
// mid-run and bad input. Every random choice is seeded; a failing assertion names its seed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type Emulator, type RequestLogEntry } from '../../src/emulator/server.js';
import { ndjson, runCli, scrubbedEnv, splitSummary, tempDir } from '../helpers/cli.js';
import { expected, FAULT_CODE, feed, plan, recordOf, start, until, type Mix } from '../helpers/faults.js';

let emu: Emulator;
before(async () => {
  emu = await startEmulator({
    endpoints: {
      demo: {},
      // Random faults at fixed rates, drawn from the emulator's seeded PRNG.
      flaky: {
        latencyMs: { min: 0, max: 3 },
        faults: [
          { type: 'throttle', rate: 0.03 },
          { type: 'internal', rate: 0.03 },
          { type: 'unavailable', rate: 0.03 },
          { type: 'reset', rate: 0.03 },
          { type: 'stall', rate: 0.003 },
        ],
      },
      slow: { latencyMs: 200 },
    },
  });
});
after(() => emu.close());

const url = (): string[] => ['--endpoint-url', emu.url];
/** Log entries that arrived after `from` (an index into emu.log). */
const since = (from: number): RequestLogEntry[] => emu.log.slice(from);
const parse = (stdout: string): Array<Record<string, any>> =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, any>);
const bodies = (n: number, tag: string): string => Array.from({ length: n }, (_, i) => `{"t":"${tag}","i":${i + 1}}\n`).join('');

/** The output is a run of real results for lines 1..k, in order, with no gaps. */
function assertInOrderPrefix(results: Array<Record<string, any>>, note = ''): void {
  results.forEach((r, i) => {
    assert.equal(r.line, i + 1, `result ${i} is for line ${r.line}${note}`);
  });
  for (const r of results) assert.ok(r.ok === true || (r.ok === false && r.error && typeof r.attempts === 'number'), JSON.stringify(r));
}

describe('fault injection: thousands of records through a seeded mix of faults', () => {
  const SEED = Number(process.env.SM_INVOKE_FAULT_SEED ?? 20260801);
  const N = 2000;
  const MAX_ATTEMPTS = 3;
  const mix: Mix = [
    [80, 'none', 0],
    [3, 'throttle', 1],
    [1, 'throttle', 2],
    [3, 'internal', 1],
    [1, 'internal', 2],
    [3, 'unavailable', 1],
    [1, 'unavailable', 2],
    [1, 'not-ready', 1],
    [1, 'dependency', 1],
    [2, 'reset', 1],
    [1, 'reset', 2],
    [0.4, 'stall', 1],
    [1, 'model-error', 1],
    [0.2, 'throttle', 99],
    [0.3, 'internal', 99],
    [0.3, 'unavailable', 99],
    [0.3, 'reset', 99],
    [0.1, 'stall', 99],
    [0.3, 'invalid', 0],
  ];

  test(`per-record directives: every outcome and attempt count is exact (seed ${SEED}, ${N} records)`, async () => {
    const records = plan(N, SEED, mix);
    const from = emu.log.length;
    const started = Date.now();
    // 1.5 s: long enough that a loaded 2-core machine does not cut real answers, short enough for stalls.
    const r = await runCli([...url(), '--endpoint-name', 'demo', '--envelope', '--concurrency', '64', '--timeout', '1.5'], {
      input: records.map((x) => x.text).join('\n') + '\n',
    });
    const ms = Date.now() - started;
    const log = since(from).filter((e) => e.body.includes(`"seed":${SEED},`));
    const note = ` (seed ${SEED}; rerun with SM_INVOKE_FAULT_SEED=${SEED})`;
    assert.equal(r.code, 1, r.stderr + note);
    // The SDKs' retry quota (500 tokens, 14 a retry, 5 after throttling, refilled by successes) may run
    // dry in this storm, depending on the order answers arrive in: then the run says so, once.
    // Besides the end-of-run summary of the failures: nothing, or the retry quota's one notice.
    const rest = splitSummary(r.stderr).rest;
    const quotaEmptied = /^sm-invoke: retry quota empty: [^\n]*\n$/.test(rest);
    assert.ok(rest === '' || quotaEmptied, r.stderr + note);
    assert.equal(r.lines.length, N, `one line per input line${note}`);

    const perRecord = new Map<number, RequestLogEntry[]>();
    for (const e of log) {
      const i = recordOf(e.body)!;
      perRecord.set(i, [...(perRecord.get(i) ?? []), e]);
      assert.ok(e.attempt <= MAX_ATTEMPTS, `record ${i}: request beyond the attempt bound${note}`);
    }
    let retries = 0;
    let cut = 0;
    let refusedByQuota = 0;
    for (const rec of records) {
      const got = r.lines[rec.line - 1]!;
      const want = expected(rec, MAX_ATTEMPTS);
      const what = `line ${rec.line} (${rec.fault ?? (rec.invalid ? 'invalid' : 'clean')} x${rec.times ?? 0}): ${JSON.stringify(got).slice(0, 300)}${note}`;
      assert.equal(got.line, rec.line, what);
      retries += Math.max(0, got.attempts - 1);
      if (rec.invalid) {
        assert.deepEqual([got.ok, got.attempts, got.error?.code], [false, 0, 'InvalidJson'], what);
        continue;
      }
      assert.equal(got.inferenceId, `rec-${rec.line}`, what);
      const sent = (perRecord.get(rec.line) ?? []).sort((a, b) => a.seq - b.seq);
      // Every attempt the client counted reached the emulator, and nothing else did.
      assert.equal(sent.length, got.attempts, `requests the emulator saw for ${what}`);
      // The emulator failed exactly the first `times` of them, as directed.
      sent.forEach((e, j) => {
        assert.equal(e.fault !== undefined, rec.fault !== undefined && j < (rec.times ?? 0), `attempt ${j + 1} of ${what}`);
      });
      // An answer the client did not wait for: the timeout fired on a loaded machine before the answer
      // (planned success, or a planned fault the emulator had not sent yet: status 0). Such an attempt is
      // retried like any timeout; it is the only way an outcome may differ from the plan.
      const late = sent.filter(
        (e, j) =>
          (e.fault === undefined && !(got.ok && j === sent.length - 1)) ||
          (e.fault !== undefined && e.fault !== 'stall' && e.fault !== 'reset' && e.status === 0),
      ).length;
      cut += late;
      // A retry the quota could not pay for: the record failed with its fault, after fewer attempts than planned.
      const refused = late === 0 && rec.fault !== undefined && !got.ok && got.attempts < want.attempts && got.error?.code === FAULT_CODE[rec.fault];
      if (refused) {
        assert.ok(quotaEmptied, `refused a retry, but the run did not say the quota was empty: ${what}`);
        refusedByQuota++;
      } else if (late === 0) {
        assert.equal(got.ok, want.ok, what);
        assert.equal(got.attempts, want.attempts, what);
        if (!want.ok) assert.equal(got.error?.code, want.code, what);
      } else {
        assert.ok(got.ok || (got.attempts === MAX_ATTEMPTS && got.error.code === 'TimeoutError'), what);
      }
      if (!got.ok) assert.ok(got.error?.code && got.error?.message, what);
    }
    const stats = {
      records: N,
      requests: log.length,
      retries,
      ok: r.lines.filter((l) => l.ok).length,
      cutByTimeoutUnderLoad: cut,
      refusedByQuota,
      ms,
    };
    console.log(`# fault suite (directives): ${JSON.stringify(stats)}`);
  });

  test("random faults from the emulator's seeded config: invariants hold", async () => {
    const from = emu.log.length;
    emu.setConfig({ seed: SEED });
    const tag = `flaky-${SEED}`;
    const started = Date.now();
    const r = await runCli([...url(), '--endpoint-name', 'flaky', '--concurrency', '64', '--timeout', '0.5'], { input: bodies(N, tag) });
    const ms = Date.now() - started;
    const note = ` (emulator seed ${SEED})`;
    assert.ok(r.code === 0 || r.code === 1, r.stderr + note);
    // Besides the end-of-run summary of the failures: nothing, or the retry quota's one notice.
    const rest = splitSummary(r.stderr).rest;
    const quotaEmptied = /^sm-invoke: retry quota empty: [^\n]*\n$/.test(rest);
    assert.ok(rest === '' || quotaEmptied, r.stderr + note);
    assert.equal(r.lines.length, N);
    const log = since(from).filter((e) => e.body.includes(`"t":"${tag}"`));
    const perRecord = new Map<number, RequestLogEntry[]>();
    let cut = 0;
    for (const e of log) {
      assert.ok(e.attempt <= 3, `a request beyond the attempt bound${note}`);
      const i = recordOf(e.body)!;
      perRecord.set(i, [...(perRecord.get(i) ?? []), e]);
    }
    for (const [i, got] of r.lines.entries()) {
      const what = `line ${i + 1}: ${JSON.stringify(got).slice(0, 300)}${note}`;
      assert.equal(got.line, i + 1, what);
      const sent = perRecord.get(i + 1) ?? [];
      assert.ok(typeof got.attempts === 'number' && got.attempts >= 1 && got.attempts <= 3, what);
      // Every attempt the client counted reached the emulator, and nothing else did.
      assert.equal(sent.length, got.attempts, what);
      // Attempts that met no fault but were retried anyway: answers that came after the 0.5 s timeout.
      const late = sent.filter((e, j) => e.fault === undefined && !(got.ok && j === sent.length - 1)).length;
      cut += late;
      if (got.ok) {
        assert.equal(sent.at(-1)!.status, 200, what);
      } else {
        // It could not succeed: every attempt met a fault (or the timeout), and the last one is the reported error;
        // it made all 3 attempts, unless the retry quota had run dry.
        assert.ok(got.attempts === 3 || quotaEmptied, what);
        const last = sent.at(-1)!;
        const want = last.fault === undefined ? 'TimeoutError' : FAULT_CODE[last.fault];
        assert.equal(got.error.code, want, what);
      }
    }
    const faults = log.filter((e) => e.fault !== undefined).length;
    console.log(
      `# fault suite (random): ${JSON.stringify({ records: N, requests: log.length, faults, failed: r.lines.filter((l) => !l.ok).length, cutByTimeoutUnderLoad: cut, ms })}`,
    );
  });
});

describe('fatal errors stop the run: one message, exit 3, a bounded number of requests', () => {
  const CONCURRENCY = 8;
  const LINES = 20_000;
  before(() => {
    emu.setConfig({
      credentials: [
        ...emu.config.credentials,
        { accessKeyId: 'AKIADENIEDEXAMPLE01', secretAccessKey: 'denied-secret', denied: true },
        { accessKeyId: 'ASIAEXPIREDEXAMPLE1', secretAccessKey: 'expired-secret', sessionToken: 'expired-token', expiresAt: Date.now() - 60_000 },
      ],
    });
  });

  interface FatalCase {
    name: string;
    args?: string[];
    env?: Record<string, string | undefined>;
    noCredentials?: boolean;
    message: RegExp;
    hint: RegExp;
    /** Most requests the emulator may see. */
    maxRequests: number;
  }
  const cases: FatalCase[] = [
    {
      name: 'unknown access key',
      env: { AWS_ACCESS_KEY_ID: 'AKIANOSUCHKEYEXAMPLE' },
      message: /^sm-invoke: fatal: UnrecognizedClientException: The security token included in the request is invalid\.$/m,
      hint: /check the AWS access key and secret/,
      maxRequests: CONCURRENCY,
    },
    {
      name: 'wrong secret (bad signature)',
      env: { AWS_SECRET_ACCESS_KEY: 'not-the-secret' },
      message: /^sm-invoke: fatal: InvalidSignatureException: The request signature we calculated does not match/m,
      hint: /check the AWS access key and secret/,
      maxRequests: CONCURRENCY,
    },
    {
      name: 'access denied',
      env: { AWS_ACCESS_KEY_ID: 'AKIADENIEDEXAMPLE01', AWS_SECRET_ACCESS_KEY: 'denied-secret' },
      message: /^sm-invoke: fatal: AccessDeniedException: User: .* is not authorized to perform: sagemaker:InvokeEndpoint/m,
      hint: /lack sagemaker:InvokeEndpoint/,
      maxRequests: CONCURRENCY,
    },
    {
      name: 'expired session token (a refresh brings back the same one)',
      env: { AWS_ACCESS_KEY_ID: 'ASIAEXPIREDEXAMPLE1', AWS_SECRET_ACCESS_KEY: 'expired-secret', AWS_SESSION_TOKEN: 'expired-token' },
      message: /^sm-invoke: fatal: ExpiredTokenException: The security token included in the request is expired$/m,
      hint: /session token has expired/,
      maxRequests: 2 * CONCURRENCY,
    },
    {
      name: 'endpoint not found',
      args: ['--endpoint-name', 'no-such-endpoint'],
      message: /^sm-invoke: fatal: ValidationError: Endpoint no-such-endpoint of account \d{12} not found\.$/m,
      hint: /check the endpoint name and the region/,
      maxRequests: CONCURRENCY,
    },
    {
      name: 'no credentials at all',
      noCredentials: true,
      message: /^sm-invoke: fatal: could not get AWS credentials: /m,
      hint: /AWS_ACCESS_KEY_ID/,
      maxRequests: 0,
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const tag = `fatal-${c.name.replace(/\W+/g, '-')}`;
      const from = emu.log.length;
      const child = start(
        [...url(), '--endpoint-name', 'demo', '--concurrency', String(CONCURRENCY), ...(c.args ?? [])],
        scrubbedEnv(c.env ?? {}, !c.noCredentials),
      );
      void feed(child.proc.stdin!, bodies(LINES, tag));
      const r = await child.done;
      const sent = since(from).filter((e) => e.body.includes(`"t":"${tag}"`)).length;
      assert.equal(r.code, 3, r.stderr);
      assert.equal(r.stdout, '', 'no record got an answer, so none is written');
      assert.match(r.stderr, c.message);
      assert.match(r.stderr, c.hint);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(r.stderr.split('\n').filter(Boolean).length, 5, `the counts, one message, a hint, a summary, how to go on:\n${r.stderr}`);
      assert.match(splitSummary(r.stderr).summary ?? '', /^sm-invoke: \d+ records read: 0 ok, 0 failed; \d+ not answered; results in standard output\n$/);
      assert.match(r.stderr, /to be able to continue a stopped run, give an outfile and then --resume\n$/);
      assert.ok(sent <= c.maxRequests, `${sent} requests (at most ${c.maxRequests}) for ${LINES} records`);
    });
  }

  test("service not reachable (connection refused): stops after one record's attempts", async () => {
    const closed = await startEmulator();
    const deadUrl = closed.url;
    await closed.close();
    const child = start(['--endpoint-url', deadUrl, '--endpoint-name', 'demo', '--concurrency', String(CONCURRENCY)]);
    void feed(child.proc.stdin!, bodies(LINES, 'refused'));
    const r = await child.done;
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^sm-invoke: fatal: cannot reach 127\.0\.0\.1:\d+: ECONNREFUSED: .* \(after 3 attempts\)$/m);
    assert.match(r.stderr, /check --endpoint-url/);
  });

  test('wrong --endpoint-url path (UnknownOperationException)', async () => {
    const from = emu.log.length;
    const child = start(['--endpoint-url', `${emu.url}/not-here`, '--endpoint-name', 'demo', '--concurrency', String(CONCURRENCY)]);
    void feed(child.proc.stdin!, bodies(LINES, 'wrong-path'));
    const r = await child.done;
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /^sm-invoke: fatal: UnknownOperationException/m);
    assert.match(r.stderr, /check --endpoint-url/);
    assert.ok(since(from).length <= CONCURRENCY);
  });

  test('no region: a configuration error before anything is read or sent, exit 2', async () => {
    const from = emu.log.length;
    const r = await runCli([...url(), '--endpoint-name', 'demo'], { input: bodies(10, 'no-region'), env: scrubbedEnv({ AWS_REGION: undefined }) });
    assert.equal(r.code, 2);
    assert.equal(r.stdout.length, 0);
    assert.match(r.stderr, /^sm-invoke: no region: give --region, or set AWS_REGION/);
    assert.equal(since(from).length, 0);
  });

  test('credentials revoked mid-run: the results already complete are written in order, then the run stops', async () => {
    const key = { accessKeyId: 'AKIAREVOKEDEXAMPLE1', secretAccessKey: 'soon-revoked' };
    emu.setConfig({ credentials: [...emu.config.credentials, key] });
    const tag = 'revoked';
    const from = emu.log.length;
    const child = start(
      [...url(), '--endpoint-name', 'slow', '--concurrency', String(CONCURRENCY)],
      scrubbedEnv({ AWS_ACCESS_KEY_ID: key.accessKeyId, AWS_SECRET_ACCESS_KEY: key.secretAccessKey }),
    );
    void feed(child.proc.stdin!, bodies(LINES, tag));
    await child.linesSeen(20);
    emu.setConfig({ credentials: emu.config.credentials.filter((k) => k.accessKeyId !== key.accessKeyId) });
    const r = await child.done;
    assert.equal(r.code, 3, r.stderr);
    const results = parse(r.stdout);
    assert.ok(results.length >= 20);
    assertInOrderPrefix(results);
    assert.ok(results.every((x) => x.ok));
    assert.match(r.stderr, /^sm-invoke: fatal: UnrecognizedClientException/m);
    assert.match(r.stderr, new RegExp(`stopped after ${results.length} results \\(written in input order\\)`));
    const log = since(from).filter((e) => e.body.includes(`"t":"${tag}"`));
    const rejected = log.filter((e) => e.status === 403).length;
    assert.ok(rejected >= 1 && rejected <= CONCURRENCY, `${rejected} rejected requests`);
    // Every accepted request's record is either written or was in flight behind the first rejection.
    assert.ok(log.length - rejected - results.length <= CONCURRENCY);
  });
});

describe('--max-errors', () => {
  test('stops after N failed records: the records already sent finish and are written, exit 4', async () => {
    const from = emu.log.length;
    // Every third record draws a ModelError (not retried).
    const input =
      Array.from({ length: 5000 }, (_, i) =>
        JSON.stringify({ body: { t: 'maxerr', i: i + 1, ...(i % 3 === 2 && { __emulator: { fault: 'model-error' } }) } }),
      ).join('\n') + '\n';
    const child = start([...url(), '--endpoint-name', 'demo', '--envelope', '--concurrency', '4', '--max-errors', '5']);
    void feed(child.proc.stdin!, input);
    const r = await child.done;
    assert.equal(r.code, 4, r.stderr);
    const results = parse(r.stdout);
    assertInOrderPrefix(results);
    const failed = results.filter((x) => !x.ok);
    assert.ok(failed.length >= 5, `${failed.length} failed`);
    assert.ok(failed.every((x) => x.error.code === 'ModelError' && x.attempts === 1));
    // It stopped reading at the fifth failure (line 15): what follows was already in flight.
    const fifth = failed[4]!.line;
    assert.equal(fifth, 15);
    assert.ok(results.length - fifth <= 4 * 4, `${results.length - fifth} results after the fifth failure`);
    const sent = since(from).filter((e) => e.body.includes('"t":"maxerr"')).length;
    assert.equal(sent, results.length, 'every request sent has its result written');
    assert.match(
      splitSummary(r.stderr).summary!,
      new RegExp(`^sm-invoke: \\d+ records read: \\d+ ok, ${failed.length} failed \\(ModelError ${failed.length}\\); `),
    );
    assert.equal(
      splitSummary(r.stderr).rest,
      `sm-invoke: stopped after ${failed.length} failed records (--max-errors 5); ${results.length} results written\nsm-invoke:   the results went to standard output: to be able to continue a stopped run, give an outfile and then --resume\n`,
    );
  });

  test('invalid input lines count as failed records', async () => {
    const input = ['{"body":1}', 'not json', '{"body":2}', '{oops', '{"body":3}', '{"body":4}'].join('\n') + '\n';
    const r = await runCli([...url(), '--endpoint-name', 'demo', '--envelope', '--concurrency', '1', '--max-errors', '2'], { input });
    assert.equal(r.code, 4, r.stderr);
    // Reading stops at line 4; line 5 may already have been sent, and then it is written too.
    assert.deepEqual(
      r.lines.slice(0, 4).map((l) => [l.line, l.ok]),
      [
        [1, true],
        [2, false],
        [3, true],
        [4, false],
      ],
    );
    assert.ok(r.lines.length <= 5, `${r.lines.length} results`);
  });

  test('--max-errors 0 (the default) never stops', async () => {
    const input = Array.from({ length: 30 }, (_, i) => JSON.stringify({ body: { i, __emulator: { fault: 'model-error' } } })).join('\n') + '\n';
    const r = await runCli([...url(), '--endpoint-name', 'demo', '--envelope'], { input });
    assert.equal(r.code, 1);
    assert.equal(r.lines.length, 30);
  });
});

describe('signals', () => {
  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    test(`${signal} mid-run: stop reading, finish what is in flight, write every completed result in order, exit ${code}`, async () => {
      const tag = `signal-${signal}`;
      const from = emu.log.length;
      const child = start([...url(), '--endpoint-name', 'slow', '--concurrency', '8']);
      void feed(child.proc.stdin!, bodies(5000, tag), false); // stdin stays open, as from a live producer
      await child.linesSeen(16);
      const sentAt = Date.now();
      child.proc.kill(signal);
      const r = await child.done;
      const tookMs = Date.now() - sentAt;
      assert.equal(r.code, code, r.stderr);
      const results = parse(r.stdout);
      assertInOrderPrefix(results);
      assert.ok(
        results.every((x) => x.ok),
        'every written result is a real answer',
      );
      assert.ok(results.length >= 16 && results.length < 5000);
      assert.match(splitSummary(r.stderr).summary!, new RegExp(`^sm-invoke: \\d+ records read: ${results.length} ok, 0 failed; `));
      assert.equal(
        splitSummary(r.stderr).rest,
        `sm-invoke: interrupted: ${results.length} results written in input order\nsm-invoke:   the results went to standard output: to be able to continue a stopped run, give an outfile and then --resume\n`,
      );
      // The in-flight requests (200 ms each) finished within the grace period and were written.
      const sent = since(from).filter((e) => e.body.includes(`"t":"${tag}"`)).length;
      assert.equal(sent, results.length, 'every request sent has its result written');
      assert.ok(tookMs < 4_000, `exited ${tookMs} ms after the signal`);
      child.proc.stdin!.destroy();
    });
  }

  test('requests still running when the grace period ends are cancelled; the prefix before them is written', async () => {
    const input = ndjson([{ body: { i: 1 } }, { body: { i: 2, __emulator: { latencyMs: 60_000 } } }, { body: { i: 3 } }]);
    const child = start([...url(), '--endpoint-name', 'demo', '--envelope', '--concurrency', '4']);
    void feed(child.proc.stdin!, input, false);
    await child.linesSeen(1);
    await until(() => emu.inFlight >= 1, 2_000);
    const sentAt = Date.now();
    child.proc.kill('SIGTERM');
    const r = await child.done;
    const tookMs = Date.now() - sentAt;
    assert.equal(r.code, 143);
    assert.deepEqual(
      parse(r.stdout).map((x) => x.line),
      [1],
      'line 3 finished but waits behind line 2, which never did',
    );
    assert.ok(tookMs >= 4_000 && tookMs < 10_000, `exited ${tookMs} ms after the signal (grace period 5 s)`);
    child.proc.stdin!.destroy();
  });

  test('a second signal exits at once', async () => {
    const child = start([...url(), '--endpoint-name', 'demo', '--envelope']);
    void feed(child.proc.stdin!, ndjson([{ body: { __emulator: { latencyMs: 60_000 } } }]), false);
    await until(() => emu.inFlight >= 1, 2_000);
    const sentAt = Date.now();
    child.proc.kill('SIGINT');
    await new Promise((res) => setTimeout(res, 200));
    child.proc.kill('SIGINT');
    const r = await child.done;
    assert.equal(r.code, 130);
    assert.ok(Date.now() - sentAt < 3_000);
    child.proc.stdin!.destroy();
  });
});

describe('a closed stdout (`sm-invoke ... | head -n 3`)', () => {
  test('ends the run quietly and quickly: exit 0, nothing on stderr, no more requests', async () => {
    const tag = 'head';
    const from = emu.log.length;
    const count = (): number => since(from).filter((e) => e.body.includes(`"t":"${tag}"`)).length;
    const head = spawn('head', ['-n', '3'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let headOut = '';
    head.stdout.setEncoding('utf8').on('data', (c: string) => {
      headOut += c;
    });
    const child = start([...url(), '--endpoint-name', 'demo', '--concurrency', '8'], scrubbedEnv(), head.stdin);
    head.stdin.destroy(); // only the CLI holds the pipe's write end now
    const LINES = 200_000;
    void feed(child.proc.stdin!, bodies(LINES, tag));
    await once(head, 'close');
    const atHeadExit = count();
    const r = await child.done;
    // Requests the CLI wrote just before exiting may still be in the emulator's socket buffers.
    await new Promise((res) => setTimeout(res, 200));
    const atCliExit = count();
    await new Promise((res) => setTimeout(res, 500));
    const later = count();
    assert.equal(headOut.split('\n').filter(Boolean).length, 3);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.equal(later, atCliExit, 'the emulator stops receiving requests once the CLI has exited');
    assert.ok(atCliExit - atHeadExit <= 200, `${atCliExit - atHeadExit} requests after head exited`);
    assert.ok(atCliExit < LINES / 10, `${atCliExit} of ${LINES} records sent`);
    console.log(`# | head -n 3: ${JSON.stringify({ sentWhenHeadExited: atHeadExit, sentInAll: atCliExit })}`);
  });
});

describe('credentials that expire mid-run', () => {
  test('a credential_process issuing short-lived keys: the run continues on refreshed keys, no failures', async () => {
    const dir = tempDir();
    const script = join(dir, 'issue-keys.mjs');
    // Each call issues a new key from the emulator. The emulator rejects it after 2.5 s; the process
    // says it expires in 5 min + 5 s, so the SDK chain keeps it for 5 s (it refreshes 5 min ahead).
    // From 2.5 s on the service calls it expired while the client still trusts it: the
    // ExpiredTokenException path, which forces a refresh. (2.5 s, not less: on a loaded machine the
    // process's own start and the first requests signed with a new key take most of a second.)
    writeFileSync(
      script,
      [
        `const r = await fetch(${JSON.stringify(`${emu.url}/_emulator/credentials`)}, {`,
        `  method: 'POST', body: JSON.stringify({ ttlMs: 2500, expirationMs: 305000 }) });`,
        'if (!r.ok) { console.error(await r.text()); process.exit(1); }',
        'process.stdout.write(await r.text());',
      ].join('\n'),
    );
    chmodSync(script, 0o755);
    writeFileSync(join(dir, 'config'), `[profile rotating]\nregion = us-east-1\ncredential_process = "${process.execPath}" "${script}"\n`);
    const env = scrubbedEnv({ AWS_CONFIG_FILE: join(dir, 'config'), AWS_PROFILE: 'rotating', AWS_REGION: undefined }, false);
    const keysBefore = emu.config.credentials.length;
    const tag = 'rotating';
    const from = emu.log.length;
    // About 5 s of work: 20 ms per request, 4 at a time (two keys at least).
    const r = await runCli([...url(), '--endpoint-name', 'demo', '--envelope', '--concurrency', '4'], {
      input: Array.from({ length: 1000 }, (_, i) => JSON.stringify({ body: { t: tag, i: i + 1, __emulator: { latencyMs: 20 } } })).join('\n') + '\n',
      env,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.equal(r.lines.length, 1000);
    assertInOrderPrefix(r.lines);
    assert.ok(
      r.lines.every((l) => l.ok && l.attempts <= 2),
      JSON.stringify(r.lines.find((l) => !l.ok || l.attempts > 2)),
    );
    const log = since(from).filter((e) => e.body.includes(`"t":"${tag}"`));
    const keys = new Set(log.map((e) => e.accessKeyId).filter((k) => k !== undefined));
    const expired = log.filter((e) => e.errorCode === 'ExpiredTokenException').length;
    const issued = emu.config.credentials.length - keysBefore;
    console.log(
      `# rotating credentials: ${JSON.stringify({ records: 1000, requests: log.length, keysIssued: issued, keysUsed: keys.size, expiredTokenAnswers: expired })}`,
    );
    assert.ok(keys.size >= 2, `${keys.size} keys used`);
    assert.ok(expired >= 1, 'the ExpiredTokenException path was taken');
    assert.ok(expired <= issued * 4, `${expired} expired answers for ${issued} keys: at most one per in-flight request per key`);
    assert.ok(log.every((e) => e.status === 200 || e.errorCode === 'ExpiredTokenException'));
  });
});

describe('bad input never loses data', () => {
  const args = (): string[] => [...url(), '--endpoint-name', 'demo', '--content-type', 'application/json', '--envelope', '--max-line-bytes', '200'];

  test('each bad line gets its documented error in its place; every other record is intact, in order', async () => {
    const from = emu.log.length;
    const input = Buffer.concat([
      Buffer.from('\xef\xbb\xbf{"body":{"n":1}}\r\n', 'latin1'), // 1: BOM on line 1 and CRLF: fine
      Buffer.from('{"body":{"n":2}, broken\n'), // 2: invalid JSON
      Buffer.from('{"body":{"n":3}}\n'), // 3
      Buffer.from([0x7b, 0x22, 0x62, 0x6f, 0x64, 0x79, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a]), // 4: {"body":"\xff\xfe"}: not UTF-8
      Buffer.from('{"body":"a\u0000b"}\n'.replace('\\u0000', '\0')), // 5: a raw NUL inside a JSON string
      Buffer.from(`{"body":"${'x'.repeat(300)}"}\n`), // 6: longer than --max-line-bytes
      Buffer.from('\n   \n'), // 7, 8: blank lines are not records
      Buffer.from('\xef\xbb\xbf{"body":{"n":9}}\n', 'latin1'), // 9: a BOM not on line 1 is bad JSON
      Buffer.from('{"body":"nul \\u0000 escaped"}\n'), // 10: an escaped NUL is fine
      Buffer.from('{"body":{"n":11}}'), // 11: no final newline
    ]);
    const r = await runCli(args(), { input });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^sm-invoke: 9 records: 4 ok, 5 failed \(/);
    assert.equal(splitSummary(r.stderr).rest, '');
    const got = r.lines.map((l) => [l.line, l.ok, l.error?.code, l.attempts]);
    assert.deepEqual(got, [
      [1, true, undefined, 1],
      [2, false, 'InvalidJson', 0],
      [3, true, undefined, 1],
      [4, false, 'InvalidUtf8', 0],
      [5, false, 'InvalidJson', 0],
      [6, false, 'LineTooLong', 0],
      [9, false, 'InvalidJson', 0],
      [10, true, undefined, 1],
      [11, true, undefined, 1],
    ]);
    assert.deepEqual(
      since(from).map((e) => e.body.toString()),
      ['{"n":1}', '{"n":3}', 'nul \u0000 escaped', '{"n":11}'],
    );
  });

  test('body mode: BOM stripped, NUL bytes and invalid UTF-8 sent as they are, an over-long line is an error in its place', async () => {
    const from = emu.log.length;
    const input = Buffer.concat([
      Buffer.from('\xef\xbb\xbfone\n', 'latin1'),
      Buffer.from([0x74, 0x00, 0x77, 0x6f, 0x0a]), // "t\0wo"
      Buffer.from([0xc3, 0x28, 0x0a]), // invalid UTF-8
      Buffer.from(`${'y'.repeat(300)}\n`),
      Buffer.from('last'),
    ]);
    const r = await runCli([...url(), '--endpoint-name', 'demo', '--max-line-bytes', '200'], { input });
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(
      r.lines.map((l) => [l.line, l.ok, l.error?.code]),
      [
        [1, true, undefined],
        [2, true, undefined],
        [3, true, undefined],
        [4, false, 'LineTooLong'],
        [5, true, undefined],
      ],
    );
    assert.deepEqual(
      since(from).map((e) => e.body),
      [Buffer.from('one'), Buffer.from([0x74, 0x00, 0x77, 0x6f]), Buffer.from([0xc3, 0x28]), Buffer.from('last')],
    );
  });

  test('empty input, and input of blank lines only: no output, exit 0', async () => {
    for (const input of ['', '\n\n  \r\n']) {
      const r = await runCli(args(), { input });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.length, 0);
      assert.equal(r.stderr, '');
    }
  });
});

describe('retry settings through the CLI', () => {
  test('AWS_MAX_ATTEMPTS is honoured, and --max-attempts wins over it', async () => {
    const input = ndjson([{ body: { t: 'env-attempts', __emulator: { fault: 'unavailable', times: 4 } } }]);
    const env5 = scrubbedEnv({ AWS_MAX_ATTEMPTS: '5' });
    const viaEnv = await runCli([...url(), '--endpoint-name', 'demo', '--envelope'], { input, env: env5 });
    assert.deepEqual([viaEnv.code, viaEnv.lines[0]?.ok, viaEnv.lines[0]?.attempts], [0, true, 5]);
    const input2 = ndjson([{ body: { t: 'flag-attempts', __emulator: { fault: 'unavailable', times: 4 } } }]);
    const viaFlag = await runCli([...url(), '--endpoint-name', 'demo', '--envelope', '--max-attempts', '2'], { input: input2, env: env5 });
    assert.deepEqual([viaFlag.code, viaFlag.lines[0]?.ok, viaFlag.lines[0]?.attempts, viaFlag.lines[0]?.error?.code], [1, false, 2, 'ServiceUnavailable']);
  });

  test('a clock 10 minutes off: corrected after the first answers, every record succeeds', async () => {
    emu.setConfig({ clockOffsetMs: 600_000 });
    try {
      const r = await runCli([...url(), '--endpoint-name', 'demo', '--concurrency', '4'], { input: bodies(50, 'skew') });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.lines.every((l) => l.ok && l.attempts <= 2));
      const retried = r.lines.filter((l) => l.attempts === 2).length;
      assert.ok(retried >= 1 && retried <= 4, `${retried} records signed before the correction`);
    } finally {
      emu.setConfig({ clockOffsetMs: 0 });
    }
  });

  test('Retry-After from the service is honoured', async () => {
    const input = ndjson([{ body: { t: 'retry-after', __emulator: { fault: 'throttle', times: 1, retryAfter: 1 } } }]);
    const started = Date.now();
    const r = await runCli([...url(), '--endpoint-name', 'demo', '--envelope'], { input });
    assert.deepEqual([r.code, r.lines[0]?.attempts], [0, 2]);
    assert.ok(Date.now() - started >= 1_000, 'waited the second the service asked for');
  });
});
