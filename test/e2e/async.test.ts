// --async end to end: the bundled CLI (and the binary) against the emulator's InvokeEndpointAsync,
// which writes outputs and failures to a real S3-compatible server (s3rver, test/helpers/s3.ts) on
// 127.0.0.1. Inline and S3 inputs, per-record options, validation, failure objects, a record that
// never finishes, order, SIGTERM then --resume (no record submitted twice), a journal write lost
// to a full disk, S3 down, and many records in flat memory.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { BINARY, BUNDLE, runCli, scrubbedEnv, tempDir } from '../helpers/cli.js';
import { S3_KEY, S3_SECRET, startS3, type S3Server } from '../helpers/s3.js';

let s3: S3Server;
let emu: Emulator;
before(async () => {
  s3 = await startS3();
  emu = await startEmulator({
    credentials: [{ accessKeyId: S3_KEY, secretAccessKey: S3_SECRET }],
    endpoints: { demo: {}, mirror: { model: 'mirror' } },
    logLimit: 1000,
    async: { outputPath: 's3://outputs/out', failurePath: 's3://outputs/failed', s3EndpointUrl: s3.url, workers: 8 },
  });
});
after(async () => {
  await emu.close();
  await s3.close();
});

const env = (extra: Record<string, string> = {}): Record<string, string> =>
  scrubbedEnv({ AWS_ACCESS_KEY_ID: S3_KEY, AWS_SECRET_ACCESS_KEY: S3_SECRET, AWS_ENDPOINT_URL_S3: s3.url, ...extra });
const asyncArgs = (): string[] => ['--endpoint-url', emu.url, '--endpoint-name', 'demo', '--async', '--s3-path-style', '--async-poll', '0.05'];
const submitted = (): number => emu.stats().async.submitted;
const records = (n: number, tag: string): string => Array.from({ length: n }, (_, i) => JSON.stringify({ tag, i: i + 1 })).join('\n') + '\n';
const readLines = (file: string): Array<Record<string, any>> =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, any>);

describe('--async: the call and its answers', () => {
  test('inline records: the same bodies as a real-time run, in order, the journal removed at the end', async () => {
    const dir = tempDir();
    const out = join(dir, 'out.ndjson');
    const stats = join(dir, 'stats.json');
    const input = records(30, 'inline');
    const before = submitted();
    const r = await runCli([...asyncArgs(), '--content-type', 'application/json', '--stats-json', stats, out], { input, env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(submitted() - before, 30);
    const rt = await runCli(['--endpoint-url', emu.url, '--endpoint-name', 'demo', '--content-type', 'application/json'], { input, env: env() });
    assert.equal(rt.code, 0, rt.stderr);
    const got = readLines(out);
    assert.deepEqual(
      got.map((l) => l.line),
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    assert.deepEqual(
      got.map((l) => [l.ok, l.status, l.contentType, JSON.stringify(l.body)]),
      rt.lines.map((l) => [l.ok, l.status, l.contentType, JSON.stringify(l.body)]),
    );
    assert.equal(existsSync(`${out}.async-journal`), false, 'journal removed after a complete run');
    const doc = JSON.parse(readFileSync(stats, 'utf8'));
    const { s3Requests, ...counts } = doc.async;
    assert.deepEqual(counts, { submitted: 30, uploaded: 0, collected: 30, failed: 0, timedOut: 0, pending: 0, resumed: 0 });
    // At least one read per record (a record whose turn has come polls with GET: one request).
    assert.ok(s3Requests >= 30, `${s3Requests} S3 requests`);
    assert.equal(doc.ok, 30);
  });

  test('the binary, stdout redirected to a file: the journal goes next to it', async () => {
    const dir = tempDir();
    const out = join(dir, 'results.ndjson');
    writeFileSync(join(dir, 'in.ndjson'), records(5, 'bin'));
    // (Not spawnSync: the emulator and S3 run in this process.)
    const r = await runCli(['-c', `"${BINARY}" "$@" < "${join(dir, 'in.ndjson')}" > "${out}"`, 'sh', ...asyncArgs()], { command: 'sh', env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      readLines(out).map((l) => [l.line, l.ok]),
      [1, 2, 3, 4, 5].map((n) => [n, true]),
    );
    assert.equal(existsSync(`${out}.async-journal`), false);
    const piped = await runCli(asyncArgs(), { input: records(1, 'pipe'), env: env() });
    assert.equal(piped.code, 2);
    assert.match(piped.stderr, /--async keeps a journal next to the results.*give an outfile, or redirect stdout to a file/);
  });

  test('inputs uploaded to --async-input (s3 mode, and auto for a body over 128,000 bytes), --async-cleanup inputs', async () => {
    const dir = tempDir();
    const out = join(dir, 'out.ndjson');
    const r = await runCli([...asyncArgs(), '--async-input', 's3://inputs/up', '--async-input-mode', 's3', '--async-cleanup', 'inputs', out], {
      input: records(6, 'upload'),
      env: env(),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      readLines(out).map((l) => [l.line, l.ok, l.body?.body]),
      [1, 2, 3, 4, 5, 6].map((n) => [n, true, JSON.stringify({ tag: 'upload', i: n })]),
    );
    assert.deepEqual(await s3.keys('inputs', 'up/'), [], 'cleaned up');
    const big = 'x'.repeat(130_000);
    const out2 = join(dir, 'big.ndjson');
    const r2 = await runCli([...asyncArgs(), '--async-input', 's3://inputs/auto/', out2], { input: `small\n${big}\n`, env: env() });
    assert.equal(r2.code, 0, r2.stderr);
    const keys = await s3.keys('inputs', 'auto/');
    assert.equal(keys.length, 1, 'only the large record was uploaded');
    assert.match(keys[0]!, /^auto\/\d{8}T\d{6}Z-[0-9a-f]{6}\/2$/);
    const lines = readLines(out2);
    assert.equal(lines[1]!.body.body.length, 130_000);
  });

  test('per-record options and an existing inputLocation go out as InvokeEndpointAsync headers', async () => {
    const dir = tempDir();
    const out = join(dir, 'out.ndjson');
    await s3.put('s3://inputs/given/x.json', '{"given":true}', 'application/json');
    const input = [
      JSON.stringify({ inputLocation: 's3://inputs/given/x.json', inferenceId: 'given-1' }),
      JSON.stringify({
        body: { a: 1 },
        requestTTLSeconds: 600,
        invocationTimeoutSeconds: 30,
        s3OutputPathExtension: 'ext/a',
        filename: 'f-2.json',
        customAttributes: 'c=1',
        accept: 'application/json',
      }),
    ].join('\n');
    const from = emu.log.length;
    const r = await runCli([...asyncArgs(), '--envelope', '--content-type', 'application/json', out], { input, env: env() });
    assert.equal(r.code, 0, r.stderr);
    const sent = emu.log.slice(from).filter((e) => e.path.endsWith('/async-invocations'));
    assert.equal(sent.length, 2);
    const [one, two] = sent.sort((a, b) =>
      a.headers['x-amzn-sagemaker-inference-id'] === 'given-1' ? -1 : b.headers['x-amzn-sagemaker-inference-id'] === 'given-1' ? 1 : 0,
    );
    assert.equal(one!.headers['x-amzn-sagemaker-inputlocation'], 's3://inputs/given/x.json');
    assert.equal(one!.bodyBytes, 0);
    assert.equal(two!.headers['x-amzn-sagemaker-requestttlseconds'], '600');
    assert.equal(two!.headers['x-amzn-sagemaker-invocationtimeoutseconds'], '30');
    assert.equal(two!.headers['x-amzn-sagemaker-s3outputpathextension'], 'ext/a');
    assert.equal(two!.headers['x-amzn-sagemaker-filename'], 'f-2.json');
    assert.equal(two!.headers['x-amzn-sagemaker-content-type'], 'application/json');
    assert.equal(two!.headers['x-amzn-sagemaker-accept'], 'application/json');
    assert.equal(two!.headers['x-amzn-sagemaker-custom-attributes'], 'c=1');
    assert.equal(two!.headers['content-type'], undefined, 'the content type goes in X-Amzn-SageMaker-Content-Type');
    assert.equal(await s3.exists('s3://outputs/out/ext/a/f-2.json'), true);
    const lines = readLines(out);
    assert.equal(lines[0]!.inferenceId, 'given-1');
    assert.equal(lines[0]!.body.body, '{"given":true}');
    assert.equal(lines[1]!.body.body, '{"a":1}');
  });

  test('--filename with {line} names each output; without it, a usage error', async () => {
    const dir = tempDir();
    const out = join(dir, 'out.ndjson');
    const r = await runCli([...asyncArgs(), '--filename', 'n-{line}.out', '--s3-output-path-extension', 'named', out], { input: records(2, 'fn'), env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await s3.exists('s3://outputs/out/named/n-1.out'), true);
    assert.equal(await s3.exists('s3://outputs/out/named/n-2.out'), true);
    const bad = await runCli([...asyncArgs(), '--filename', 'same.out', join(dir, 'x.ndjson')], { input: records(1, 'fn'), env: env() });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--filename would name every record's output the same: put \{line\} in it/);
  });
});

describe('--async: validation', () => {
  test('bad records fail alone, named; the others go through in order', async () => {
    const dir = tempDir();
    const out = join(dir, 'out.ndjson');
    const input = [
      JSON.stringify({ body: 'ok-1' }),
      JSON.stringify({ body: 'x'.repeat(128_001) }),
      JSON.stringify({ body: 'ttl', requestTTLSeconds: 30 }),
      JSON.stringify({ body: 'variant', targetVariant: 'v1' }),
      JSON.stringify({ body: 'both', inputLocation: 's3://inputs/given/x.json' }),
      JSON.stringify({ body: 'ok-6' }),
      JSON.stringify({ body: 'streamed', stream: true }),
    ].join('\n');
    const before = submitted();
    const r = await runCli([...asyncArgs(), '--envelope', '--async-input-mode', 'inline', out], { input, env: env() });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(submitted() - before, 2, 'only the two good records were submitted');
    const lines = readLines(out);
    assert.deepEqual(
      lines.map((l) => [l.line, l.ok, l.error?.code, l.error?.field]),
      [
        [1, true, undefined, undefined],
        [2, false, 'InvalidRecord', 'body'],
        [3, false, 'InvalidRecord', 'requestTTLSeconds'],
        [4, false, 'InvalidRecord', 'targetVariant'],
        [5, false, 'InvalidRecord', 'inputLocation'],
        [6, true, undefined, undefined],
        [7, false, 'InvalidRecord', 'stream'],
      ],
    );
    assert.match(lines[6]!.error.message, /"stream": true does not go with --async/);
    assert.match(lines[1]!.error.message, /128,000 bytes inline \(--async-input-mode inline\)/);
    assert.match(lines[2]!.error.message, /requestTTLSeconds must be a whole number from 60 to 21600, got 30/);
  });

  test('usage errors before anything is sent', async () => {
    const dir = tempDir();
    const cases: [string[], RegExp][] = [
      [['--async-input-mode', 's3'], /--async-input-mode s3 needs --async-input/],
      [['--request-ttl-seconds', '10'], /--request-ttl-seconds must be a whole number from 60 to 21600, got 10/],
      [['--invocation-timeout-seconds', '3601'], /--invocation-timeout-seconds must be a whole number from 1 to 3600/],
      [['--async-input', 'bucket/prefix'], /--async-input must be an s3:\/\/bucket\/prefix\/ URI/],
      [['--target-variant', 'v1'], /--target-variant is not a member of InvokeEndpointAsync/],
      [['--inference-id', 'same'], /--inference-id with --async would give every record the same output object/],
      [['--async-cleanup', 'yes'], /--async-cleanup must be inputs .* or all/],
      [['--stream'], /--async and --stream do not go together/],
    ];
    const before = submitted();
    for (const [extra, why] of cases) {
      const r = await runCli([...asyncArgs(), ...extra, join(dir, 'o.ndjson')], { input: records(1, 'u'), env: env() });
      assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, why);
    }
    const noAsync = await runCli(['--endpoint-url', emu.url, '--endpoint-name', 'demo', '--async-input', 's3://inputs/x/'], {
      input: records(1, 'u'),
      env: env(),
    });
    assert.equal(noAsync.code, 2);
    assert.match(noAsync.stderr, /--async-input goes with --async/);
    assert.equal(submitted(), before);
  });
});

describe('--async: collecting', () => {
  test("a failure object is the record's error; a record that never finishes times out; order holds when jobs finish out of order", async () => {
    const dir = tempDir();
    const out = join(dir, 'out.ndjson');
    const input = [
      JSON.stringify({ body: { i: 1, __emulator: { latencyMs: 600 } } }),
      JSON.stringify({ body: { i: 2, __emulator: { fault: 'model-error', originalStatusCode: 400, originalMessage: 'bad input' } } }),
      JSON.stringify({ body: { i: 3, __emulator: { fault: 'stall' } } }),
      JSON.stringify({ body: { i: 4, __emulator: { latencyMs: 300 } } }),
      JSON.stringify({ body: { i: 5 } }),
    ].join('\n');
    const r = await runCli([...asyncArgs(), '--envelope', '--content-type', 'application/json', '--async-timeout', '1.5', '--stats', out], {
      input,
      env: env(),
    });
    assert.equal(r.code, 1, r.stderr);
    const lines = readLines(out);
    assert.deepEqual(
      lines.map((l) => [l.line, l.ok, l.error?.code]),
      [
        [1, true, undefined],
        [2, false, 'ModelError'],
        [3, false, 'AsyncTimeout'],
        [4, true, undefined],
        [5, true, undefined],
      ],
    );
    assert.match(lines[1]!.error.message, /Received server error \(400\) from model with message "bad input"/);
    assert.match(lines[1]!.error.location, /^s3:\/\/outputs\/failed\/.+-error\.out$/);
    assert.match(lines[2]!.error.location, /^s3:\/\/outputs\/out\/.+\.out$/);
    assert.match(lines[2]!.error.message, /no output or failure object 2 s after the submission \(--async-timeout\)/);
    assert.equal(JSON.parse(lines[0]!.body.body).i, 1);
    assert.match(r.stderr, /async: 5 submitted \(0 inputs uploaded\), 3 collected, 1 failed, 1 timed out, 0 pending; \d+ S3 requests/);
  });

  test('S3 down: a clear fatal error, nothing submitted', async () => {
    const dir = tempDir();
    const port = await closedPort();
    const before = submitted();
    const r = await runCli(
      [
        ...asyncArgs(),
        '--s3-endpoint-url',
        `http://127.0.0.1:${port}`,
        '--async-input',
        's3://inputs/down/',
        '--async-input-mode',
        's3',
        join(dir, 'o.ndjson'),
      ],
      {
        input: records(3, 'down'),
        env: env(),
      },
    );
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /fatal: S3: PutObject s3:\/\/inputs\/down\/.+: ECONNREFUSED/);
    assert.match(r.stderr, /check --s3-endpoint-url \/ AWS_ENDPOINT_URL_S3/);
    assert.equal(submitted(), before);
  });
});

describe('--async: crash safety', () => {
  test('SIGTERM with records pending, then --resume: every record answered, none submitted twice', async () => {
    const dir = tempDir();
    const out = join(dir, 'out.ndjson');
    // One worker, 400 ms a job: the queue outlasts the grace period.
    emu.setConfig({ endpoints: { slow: { latencyMs: 400 } }, async: { ...emu.config.async!, workers: 1 } });
    const n = 20;
    const input = records(n, 'term');
    const args = [...asyncArgs(), '--endpoint-name', 'slow', out];
    // This test's own submissions, by record (the emulator's log: a job another test left behind
    // cannot count here, and a record submitted twice is named).
    const from = emu.log.length;
    const accepted = (): number[] =>
      emu.log
        .slice(from)
        .filter((e) => e.path.endsWith('/async-invocations') && e.status === 202 && e.body.includes('"tag":"term"'))
        .map((e) => (JSON.parse(e.body.toString()) as { i: number }).i);
    const child = spawn(process.execPath, [BUNDLE, ...args], { env: env(), stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.stdin.end(input);
    while (accepted().length < n) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    emu.setConfig({ async: { ...emu.config.async!, workers: 8 } });
    assert.equal(code, 143, stderr);
    assert.match(stderr, /async: \d+ record\(s\) submitted and not yet collected are in the journal .*out\.ndjson\.async-journal/);
    assert.match(stderr, /run the same command with --resume .*out\.ndjson/);
    assert.equal(existsSync(`${out}.async-journal`), true);
    const written = existsSync(out) ? readLines(out).length : 0;
    assert.ok(written < n, `some records were still pending (${written} written)`);
    const resumed = await runCli([...args.slice(0, -1), '--resume', out], { input, env: env() });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(
      accepted().sort((a, b) => a - b),
      Array.from({ length: n }, (_, i) => i + 1),
      'each record submitted once',
    );
    assert.deepEqual(
      readLines(out).map((l) => [l.line, l.ok]),
      Array.from({ length: n }, (_, i) => [i + 1, true]),
    );
    assert.equal(existsSync(`${out}.async-journal`), false);
  });

  test('a journal left by a stopped run is not overwritten without --resume', async () => {
    const dir = tempDir();
    const out = join(dir, 'out.ndjson');
    writeFileSync(
      `${out}.async-journal`,
      `${JSON.stringify({ journal: 'sm-invoke async', version: 1, run: 'r1' })}\n${JSON.stringify({ line: 1, state: 'submitted', output: 's3://outputs/out/x.out', deadline: 1, at: 0 })}\n`,
    );
    const r = await runCli([...asyncArgs(), '--force', out], { input: records(1, 'j'), env: env() });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /holds 1 record\(s\) an earlier run submitted and did not collect: --resume .* collects them/);
  });

  // (Mounts a 12 KiB tmpfs: the tests run as root, as .ci/run does.)
  test('a journal write lost to a full disk: exit 3, and every submission the service saw was journalled first', async () => {
    const dir = join(tempDir(), 'full');
    mkdirSync(dir);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=12k', 'tmpfs', dir]);
    assert.equal(mounted.status, 0, String(mounted.stderr));
    try {
      const out = join(dir, 'out.ndjson');
      const before = submitted();
      const r = await runCli([...asyncArgs(), out], { input: records(400, 'full'), env: env() });
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /fatal: (cannot write the async journal|cannot write results to).*ENOSPC/);
      const journal = readFileSync(`${out}.async-journal`, 'utf8');
      const journalled = journal.split('\n').filter((l) => l.includes('"state":"submitting"')).length;
      const seen = submitted() - before;
      assert.ok(seen > 0, 'some records went out before the disk filled');
      assert.ok(seen <= journalled, `${seen} submissions seen, ${journalled} journalled before sending`);
      assert.ok(seen < 400, 'the run stopped submitting');
    } finally {
      spawnSync('umount', [dir]);
    }
  });
});

describe('--async: configuration and scale', () => {
  test("path-style addressing from the profile's s3 section, as the AWS CLI reads it", async () => {
    const dir = tempDir();
    const config = join(dir, 'config');
    writeFileSync(config, '[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n');
    const r = await runCli(['--endpoint-url', emu.url, '--endpoint-name', 'demo', '--async', '--async-poll', '0.05', '--debug', join(dir, 'o.ndjson')], {
      input: records(2, 'profile'),
      env: env({ AWS_CONFIG_FILE: config }),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /S3 requests go to http:\/\/127\.0\.0\.1:\d+ \(from AWS_ENDPOINT_URL_S3\); addressing path-style \(profile "default" \(s3 addressing_style = path\)\)/,
    );
  });

  test('10,000 records in flat memory (RSS sampled as the results grow)', async () => {
    const dir = tempDir();
    const out = join(dir, 'out.ndjson');
    const n = 10_000;
    const before = submitted();
    const child = spawn(process.execPath, [BUNDLE, ...asyncArgs(), '--async-max-pending', '500', '--concurrency', '16', out], {
      env: env(),
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.stdin.end(records(n, 'many'));
    const rss: { bytes: number; mb: number }[] = [];
    const sample = setInterval(() => {
      try {
        const mb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) / 1024;
        rss.push({ bytes: existsSync(out) ? statSync(out).size : 0, mb });
      } catch {
        // exited
      }
    }, 100);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearInterval(sample);
    assert.equal(code, 0, stderr);
    assert.equal(submitted() - before, n);
    const lines = readLines(out);
    assert.equal(lines.length, n);
    assert.ok(lines.every((l, i) => l.line === i + 1 && l.ok));
    const total = statSync(out).size;
    const at = (frac: number): number => Math.max(...rss.filter((x) => x.bytes <= total * frac).map((x) => x.mb));
    const early = at(0.25);
    const late = Math.max(...rss.map((x) => x.mb));
    assert.ok(late <= early * 1.25 + 10, `RSS ${early.toFixed(0)} MB at a quarter of the results, ${late.toFixed(0)} MB at most overall`);
  });
});

/** A port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
