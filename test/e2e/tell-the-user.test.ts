// What a run tells its user, through the built executable: the end-of-run summary off a terminal,
// --stats-json's pinned keys, "did you mean" for unknown options, input-shape hints, control
// characters from the service escaped, and a status line that fits the terminal (on a real pty).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test, beforeEach } from 'node:test';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { BINARY, runCli, scrubbedEnv, tempDir } from '../helpers/cli.js';
import { NO_PYTHON, PYTHON, runCliOnPty } from '../helpers/pty.js';
import { requireTools } from '../helpers/tools.js';

let emu: Emulator;
before(async () => {
  emu = await startEmulator({ endpoints: { demo: {} } });
});
after(() => emu.close());

const base = (): string[] => ['--endpoint-url', emu.url, '--endpoint-name', 'demo'];
const bin = (args: string[], input = ''): ReturnType<typeof runCli> => runCli(args, { command: BINARY, input });
const tagged = (tag: string): number => emu.log.filter((e) => e.body.includes(tag)).length;

/** n body-mode records; the lines in `failing` get a ModelError whose message carries `message`. */
function records(tag: string, n: number, failing: number[], message = 'bad input'): string {
  const out: string[] = [];
  for (let i = 1; i <= n; i++) {
    const r: Record<string, unknown> = { t: tag, i };
    if (failing.includes(i)) r.__emulator = { fault: 'model-error', originalMessage: message };
    out.push(JSON.stringify(r));
  }
  return out.join('\n') + '\n';
}

describe('the end of a run, off a terminal', () => {
  test('failures: one line with counts by code, the first failed lines and where the results are; one on what to do', async () => {
    const dir = tempDir();
    const out = join(dir, 'out.ndjson');
    const r = await bin([...base(), out], records('sum-1', 40, [7, 31]));
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `sm-invoke: 40 records: 38 ok, 2 failed (ModelError 2); first failed lines: 7, 31; results in ${out}\n` +
        `sm-invoke:   to send the failed records again: the same command with --resume-failed ${out} (instead of --resume/--force)\n`,
    );
  });

  test('a clean run stays silent; results on stdout are named as such when something fails', async () => {
    const clean = await bin(base(), records('sum-2', 5, []));
    assert.equal(clean.code, 0);
    assert.equal(clean.stderr, '');
    const failed = await bin(base(), records('sum-3', 5, [2]));
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /^sm-invoke: 5 records: 4 ok, 1 failed \(ModelError 1\); first failed line: 2; results in standard output\n/);
    assert.match(failed.stderr, /"ok":false/);
  });

  test('--max-errors: the summary, why it stopped and how to continue', async () => {
    const dir = tempDir();
    const out = join(dir, 'out.ndjson');
    const r = await bin([...base(), '--concurrency', '1', '--max-errors', '2', out], records('sum-4', 30, [3, 4, 5, 6]));
    assert.equal(r.code, 4);
    const lines = r.stderr.split('\n').filter(Boolean);
    // Records already in flight when the second failure came are answered too.
    assert.match(
      lines[0]!,
      /^sm-invoke: \d+ records read: 2 ok, [2-4] failed \(ModelError [2-4]\); (\d+ not answered; )?first failed lines: 3, 4\b.*; results in /,
    );
    assert.match(r.stderr, /stopped after [2-4] failed records \(--max-errors 2\)/);
    assert.match(r.stderr, new RegExp(`to continue, run the same command with --resume ${out.replace(/[/.]/g, '\\$&')}`));
  });

  test('--output body: each failure on one line, its control characters escaped; no raw ESC, BEL or CR anywhere', async () => {
    const r = await bin([...base(), '--output', 'body'], records('esc-1', 3, [2], 'red \x1b[31mALERT\x07\r\nsecond line\x9b2J'));
    assert.equal(r.code, 1);
    assert.doesNotMatch(r.stderr, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/, 'only newlines end lines');
    const failure = r.stderr.split('\n').filter((l) => l.startsWith('sm-invoke: line 2: '));
    assert.equal(failure.length, 1, r.stderr);
    assert.match(failure[0]!, /red \\e\[31mALERT\\x07\\r\\nsecond line\\x9b2J/);
    assert.match(r.stderr, /a failed record's line in the output is empty/);
  });

  test('--debug and --body (the AWS CLI style messages) escape them too', async () => {
    const input = records('esc-2', 1, [1], 'x\x1b]0;title\x07y');
    const debug = await bin([...base(), '--debug'], input);
    assert.equal(debug.code, 1);
    assert.doesNotMatch(debug.stderr, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
    const body = JSON.parse(input) as Record<string, unknown>;
    const single = await bin([...base(), '--body', JSON.stringify(body), '-']);
    assert.equal(single.code, 254);
    assert.match(single.stderr, /An error occurred \(ModelError\)/);
    assert.doesNotMatch(single.stderr, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
    assert.match(single.stderr, /x\\e\]0;title\\x07y/);
  });
});

describe('--stats-json', () => {
  // The document is an interface for monitoring: this is its exact key set (README, "--stats-json").
  const KEYS = [
    'version',
    'startedAt',
    'endedAt',
    'exitCode',
    'endpointUrl',
    'endpointNames',
    'results',
    'records',
    'ok',
    'failed',
    'skipped',
    'resumed',
    'inFlight',
    'attempts',
    'retries',
    'throttles',
    'wallMs',
    'recordsPerSecond',
    'concurrency',
    'concurrencyMode',
    'latencyMs',
    'failuresByCode',
    'firstFailedLines',
    'meanBatchSize',
    'llm',
    'async',
    'stoppedBy',
    'fatal',
    'failedBefore',
  ];

  test('the pinned key set, with the run, its failures and its exit code', async () => {
    const dir = tempDir();
    const out = join(dir, 'out.ndjson');
    const stats = join(dir, 'stats.json');
    const failing = Array.from({ length: 25 }, (_, k) => 2 * k + 1);
    const before = Date.now();
    const r = await bin([...base(), '--stats-json', stats, out], records('stats-1', 60, failing));
    assert.equal(r.code, 1);
    const s = JSON.parse(readFileSync(stats, 'utf8')) as Record<string, any>;
    assert.deepEqual(Object.keys(s), KEYS);
    assert.deepEqual(Object.keys(s.latencyMs), ['p50', 'p90', 'p99', 'max']);
    assert.match(s.version, /^\d+\.\d+\.\d+/);
    assert.ok(Date.parse(s.startedAt) >= before - 1000 && Date.parse(s.endedAt) >= Date.parse(s.startedAt));
    assert.equal(s.startedAt, new Date(Date.parse(s.startedAt)).toISOString(), 'ISO 8601');
    assert.equal(s.exitCode, 1);
    assert.equal(s.endpointUrl, emu.url);
    assert.deepEqual(s.endpointNames, ['demo']);
    assert.equal(s.results, out);
    assert.deepEqual([s.records, s.ok, s.failed, s.skipped], [60, 35, 25, 0]);
    assert.deepEqual(s.failuresByCode, { ModelError: 25 });
    assert.deepEqual(s.firstFailedLines, failing.slice(0, 20), 'the first 20, in input order');
    assert.deepEqual([s.concurrency, s.concurrencyMode], [8, 'fixed']);
    assert.equal(s.recordsPerSecond, Math.round(s.recordsPerSecond * 10) / 10, 'rounded');
    assert.equal(s.stoppedBy, null);
    assert.equal(s.fatal, null);
  });

  test('a clean run to stdout: the same keys, nulls and empties where there is nothing', async () => {
    const stats = join(tempDir(), 'stats.json');
    const r = await bin([...base(), '--stats-json', stats], records('stats-2', 3, []));
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
    const s = JSON.parse(readFileSync(stats, 'utf8')) as Record<string, any>;
    assert.deepEqual(Object.keys(s), KEYS);
    assert.deepEqual([s.exitCode, s.results, s.failuresByCode, s.firstFailedLines], [0, '-', {}, []]);
  });
});

describe('unknown options', () => {
  // [as typed, what the message must suggest]
  const TABLE: Array<[string[], RegExp | undefined]> = [
    [['--endpoint', 'x'], /did you mean --endpoint-name NAME \(the endpoint\) or --endpoint-url URL/],
    [['--concurency', '4'], /did you mean --concurrency\?/],
    [['--content_type', 'text/csv'], /did you mean --content-type\?/],
    [['--jobs', '8'], /did you mean --concurrency\? \(GNU parallel's --jobs/],
    [['--jobs=8'], /did you mean --concurrency\?/],
    [['-j', '8'], /did you mean --concurrency\?/],
    [['--retries', '2'], /did you mean --max-attempts\? \(attempts per record, the first one included/],
    [['--cli-read-timeout', '30'], /did you mean --timeout\?/],
    [['--cli-connect-timeout', '5'], /did you mean --connect-timeout\?/],
    [['--envelop'], /did you mean --envelope\?/],
    [['--max-error', '3'], /did you mean --max-errors\?/],
    [['--Region', 'us-east-1'], /did you mean --region\?/],
    [['--dryrun'], /did you mean --dry-run\?/],
    [['--frobnicate'], undefined],
  ];
  for (const [argv, expected] of TABLE) {
    test(argv.join(' '), async () => {
      const r = await bin([...argv, '--endpoint-name', 'demo']);
      assert.equal(r.code, 2);
      const opt = argv[0]!.replace(/=.*/, '');
      assert.ok(r.stderr.startsWith(`sm-invoke: unknown option ${opt}`), r.stderr);
      if (expected) assert.match(r.stderr, expected);
      else assert.doesNotMatch(r.stderr, /did you mean/);
      assert.match(r.stderr, /\(see --help\)\n$/);
      assert.equal(r.stderr.split('\n').length, 2, 'one line');
    });
  }
});

describe('input in the wrong shape', () => {
  test('body mode, envelopes on stdin: one hint, and the lines are still sent as they are', async () => {
    const input = Array.from({ length: 4 }, (_, k) => JSON.stringify({ body: { t: 'shape-1', i: k } })).join('\n') + '\n';
    const r = await bin(base(), input);
    assert.equal(r.code, 0);
    assert.equal(r.lines.length, 4);
    assert.equal(tagged('shape-1'), 4);
    assert.equal(
      r.stderr,
      'sm-invoke: line 1 looks like an envelope (a JSON object with "body") but is sent as the request body as it is: add --envelope to read envelopes\n',
    );
    const plain = await bin(base(), '{"inputs":"a body with a key named body inside","t":"shape-2"}\n"just a string"\n');
    assert.equal(plain.stderr, '', 'a JSON body without a body key is no hint');
  });

  test('body mode: the hint sees an envelope on a first line that opens with a UTF-8 byte order mark', async () => {
    const r = await bin(base(), `\uFEFF${JSON.stringify({ body: { t: 'shape-5' } })}\n`);
    assert.equal(r.code, 0);
    assert.equal(r.lines.length, 1);
    assert.match(r.stderr, /^sm-invoke: line 1 looks like an envelope \(a JSON object with "body"\)/);
    // With --envelope, the same input is one record whose body is sent (the mark is not part of it).
    const env = await bin(['--envelope', ...base()], `\uFEFF${JSON.stringify({ body: { t: 'shape-6' } })}\n`);
    assert.equal(env.code, 0);
    assert.equal(env.stderr, '');
    assert.equal(tagged('shape-6'), 1);
  });

  test('--envelope with CSV: exit 2 before anything is sent, saying so', async () => {
    const csv = 'id,text,shape-3\n1,hello\n2,world\n3,again\n4,more\n5,rows\n';
    const sentBefore = emu.log.length;
    const r = await bin(['--envelope', ...base()], csv);
    assert.equal(r.code, 2);
    assert.equal(emu.log.length, sentBefore, 'nothing sent');
    assert.equal(r.stdout.length, 0);
    assert.match(
      r.stderr,
      /^sm-invoke: --envelope: the first 5 records \(lines 1-5\) are not JSON \(CSV or text\?\): .*leave out --envelope.*nothing was sent\n$/,
    );
  });

  test('--envelope: fewer bad records than that, or JSON among the first five, or --max-errors: the records get their results', async () => {
    const short = await bin(['--envelope', ...base()], 'a,b\n1,2\n');
    assert.equal(short.code, 1);
    assert.deepEqual(
      short.lines.map((l) => l.error?.code),
      ['InvalidJson', 'InvalidJson'],
    );
    const mixed = await bin(['--envelope', ...base()], `x\ny\nz\n${JSON.stringify({ body: { t: 'shape-4' } })}\nw\nv\n`);
    assert.equal(mixed.code, 1);
    assert.equal(mixed.lines.length, 6);
    const budget = await bin(['--envelope', '--max-errors', '100', ...base()], 'a\nb\nc\nd\ne\nf\n');
    assert.equal(budget.code, 1);
    assert.equal(budget.lines.length, 6);
    assert.match(budget.stderr, /6 records: 0 ok, 6 failed \(InvalidJson 6\)/);
  });
});

describe('the status line on a terminal', () => {
  beforeEach(() => requireTools(PYTHON === undefined && NO_PYTHON));
  for (const columns of [60, 80]) {
    test(`${columns} columns: every redraw fits, in place, and is cleared before the summary`, async () => {
      // Long enough to show percent and ETA (stdin a file, 2 s at --rate 200), with --concurrency
      // auto: the long form is over 80 columns.
      const dir = tempDir();
      const input = join(dir, 'in.ndjson');
      const lines = Array.from({ length: 400 }, (_, k) =>
        JSON.stringify({ t: `pty-${columns}`, i: k + 1, __emulator: k % 50 === 0 ? { fault: 'model-error' } : { latencyMs: 40 } }),
      );
      writeFileSync(input, lines.join('\n') + '\n');
      const r = await runCliOnPty(
        [...base(), '--content-type', 'application/json', '--concurrency', 'auto', '--max-concurrency', '64', '--rate', '200'],
        input,
        scrubbedEnv(),
        false,
        columns,
      );
      assert.equal(r.code, 1, r.stderr);
      const parts = r.stderr.split('\r\x1b[K');
      const redraws = parts.slice(1, -1);
      assert.ok(redraws.length >= 3, `${redraws.length} redraws`);
      for (const row of redraws) {
        assert.ok(!row.includes('\n') && !row.includes('\r'), JSON.stringify(row));
        assert.ok(row.length < columns, `${row.length} >= ${columns}: ${JSON.stringify(row)}`);
      }
      assert.ok(
        redraws.some((row) => /%.*ETA \d+s/.test(row)),
        `percent and ETA shown: ${JSON.stringify(redraws.slice(-3))}`,
      );
      // After the last clear: the stats, then the summary of the failures.
      const tail = parts[parts.length - 1]!;
      assert.match(tail, /^records: 400 \(392 ok, 8 failed, 0 skipped\)\n/);
      assert.match(
        tail,
        /\nsm-invoke: 400 records: 392 ok, 8 failed \(ModelError 8\); first failed lines: 1, 51, 101, 151, 201, 251, 301, 351; results in standard output\n/,
      );
    });
  }
});
