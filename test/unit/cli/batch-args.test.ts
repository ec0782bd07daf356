// --batch-* and --join-input: defaults, what each flag sets, and the combinations refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArgs, type Options } from '../../../src/cli/args.js';
import { UsageError } from '../../../src/errors.js';

const options = (...argv: string[]): Options => {
  const c = parseArgs(['--endpoint-name', 'ep', ...argv]);
  assert.equal(c.kind, 'run');
  return (c as { options: Options }).options;
};

test('default: one record per request (no batch options), no join', () => {
  const o = options();
  assert.equal(o.batch, undefined);
  assert.equal(o.joinInput, false);
  assert.equal(options('--batch-size', '1').batch, undefined);
});

test('--batch-size N with its defaults, and every option set', () => {
  assert.deepEqual(options('--batch-size', '32').batch, {
    size: 32,
    bytes: 6291456,
    format: 'lines',
    wrap: undefined,
    unwrap: undefined,
    lingerMs: 20,
    splitOnError: true,
  });
  const args = ['--batch-size', '8', '--batch-bytes', '1000', '--batch-format', 'json', '--batch-wrap', 'inputs.instances'];
  assert.deepEqual(options(...args, '--batch-unwrap', 'predictions', '--batch-linger', '0', '--no-batch-split-on-error', '--join-input').batch, {
    size: 8,
    bytes: 1000,
    format: 'json',
    wrap: ['inputs', 'instances'],
    unwrap: ['predictions'],
    lingerMs: 0,
    splitOnError: false,
  });
  assert.equal(options('--join-input').joinInput, true);
});

test('refused: bad values, batch options without --batch-size, contradictions, --body', () => {
  for (const [argv, message] of [
    [['--batch-size', 'x'], /--batch-size must be a whole number from 1 to 100000, got "x"/],
    [['--batch-size', '2', '--batch-linger=-1'], /--batch-linger must be a whole number from 0 to 60000, got "-1"/],
    [['--batch-format', 'json'], /--batch-format goes with --batch-size N/],
    [['--batch-size', '2', '--batch-split-on-error', '--no-batch-split-on-error'], /contradict each other/],
    [['--batch-size', '2', '--body', 'x', '-'], /--body sends one request; it does not go with --batch-size/],
    [['--batch-size', '2', '--batch-format', 'json', '--batch-wrap', '.a'], /--batch-wrap must be a key or a dotted path/],
  ] as const) {
    assert.throws(
      () => parseArgs(['--endpoint-name', 'ep', ...argv]),
      (e: unknown) => e instanceof UsageError && message.test(e.message),
      argv.join(' '),
    );
  }
});
