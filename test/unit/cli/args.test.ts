// args.ts: argv -> options, or one clear usage error.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_MAX_LINE_BYTES, parseArgs, type Options } from '../../../src/cli/args.js';
import { UsageError } from '../../../src/errors.js';

const run = (argv: string[]): Options => {
  const c = parseArgs(argv);
  assert.equal(c.kind, 'run');
  return (c as { options: Options }).options;
};
const usage = (argv: string[], message: RegExp): void => {
  assert.throws(
    () => parseArgs(argv),
    (e: unknown) => e instanceof UsageError && message.test(e.message) && !e.message.includes('\n'),
  );
};

test('defaults', () => {
  const o = run(['--endpoint-name', 'ep']);
  assert.deepEqual(o.defaults, { endpointName: 'ep' });
  assert.equal(o.concurrency, 8);
  assert.equal(o.envelope, false);
  assert.equal(o.output, 'result');
  assert.equal(o.outfile, undefined);
  assert.equal(o.timeoutMs, 70_000);
  assert.equal(o.maxAttempts, 3);
  assert.equal(o.maxLineBytes, DEFAULT_MAX_LINE_BYTES);
  assert.ok(DEFAULT_MAX_LINE_BYTES > (6_291_456 * 4) / 3, 'a max-size body fits as base64 in an envelope');
});

test('every request flag, in both --flag value and --flag=value forms', () => {
  const o = run([
    '--endpoint-name=ep',
    '--content-type',
    'application/json',
    '--accept=text/csv',
    '--custom-attributes',
    'k=v',
    '--target-model',
    'm.tar.gz',
    '--target-variant',
    'v1',
    '--target-container-hostname',
    'c1',
    '--inference-id',
    'i 1',
    '--inference-component-name',
    'ic',
    '--session-id',
    'NEW_SESSION',
    '--enable-explanations',
    '`true`',
    'out.ndjson',
  ]);
  assert.deepEqual(o.defaults, {
    endpointName: 'ep',
    contentType: 'application/json',
    accept: 'text/csv',
    customAttributes: 'k=v',
    targetModel: 'm.tar.gz',
    targetVariant: 'v1',
    targetContainerHostname: 'c1',
    inferenceId: 'i 1',
    inferenceComponentName: 'ic',
    sessionId: 'NEW_SESSION',
    enableExplanations: '`true`',
  });
  assert.equal(o.outfile, 'out.ndjson');
});

test('run options', () => {
  const o = run([
    '--envelope',
    '--concurrency',
    '64',
    '--output',
    'body',
    '--timeout',
    '2.5',
    '--connect-timeout',
    '0',
    '--max-attempts',
    '5',
    '--retry-model-errors',
    '--max-errors',
    '10',
    '--region',
    'eu-west-1',
    '--profile',
    'p',
    '--endpoint-url',
    'http://127.0.0.1:1/',
    '--max-line-bytes',
    '100',
  ]);
  assert.equal(o.envelope, true);
  assert.equal(o.concurrency, 64);
  assert.equal(o.output, 'body');
  assert.equal(o.timeoutMs, 2500);
  assert.equal(o.connectTimeoutMs, 0);
  assert.equal(o.maxAttempts, 5);
  assert.equal(o.retryModelErrors, true);
  assert.equal(o.maxErrors, 10);
  assert.equal(o.region, 'eu-west-1');
  assert.equal(o.profile, 'p');
  assert.equal(o.endpointUrl, 'http://127.0.0.1:1/');
  assert.equal(o.maxLineBytes, 100);
});

test('the flags given are recorded, so that a flag wins over the environment and the profile (retry-config.ts)', () => {
  const o = run(['--endpoint-name', 'e', '--max-attempts', '2', '--concurrency=4']);
  assert.equal(o.maxAttempts, 2);
  assert.ok(o.given.has('max-attempts') && o.given.has('concurrency') && o.given.has('endpoint-name'));
  const d = run(['--endpoint-name', 'e']);
  assert.equal(d.maxAttempts, 3, 'the default until AWS_MAX_ATTEMPTS and the profile are read (aws/config.ts)');
  assert.ok(!d.given.has('max-attempts') && !d.given.has('concurrency'));
  usage(['--endpoint-name', 'e', '--max-attempts', '0'], /^--max-attempts must be a whole number from 1 to 100, got 0/);
});

test('"" means not set, as in the AWS SDKs', () => {
  assert.deepEqual(run(['--endpoint-name', 'e', '--target-variant', '']).defaults, { endpointName: 'e' });
});

test('help and version win over everything else', () => {
  assert.deepEqual(parseArgs(['--help', '--bogus-value-ignored-not'].slice(0, 1)), { kind: 'help' });
  assert.deepEqual(parseArgs(['-h']), { kind: 'help' });
  assert.deepEqual(parseArgs(['--version']), { kind: 'version' });
});

test('usage errors name the option and what is allowed', () => {
  usage(['--nope'], /^unknown option --nope/);
  usage(['-x'], /^unknown option -x/);
  usage(['--endpoint-name'], /--endpoint-name.*needs a value/);
  usage([], /--endpoint-name is required/);
  usage(['--endpoint-name', 'e', '--concurrency', '1025'], /--concurrency must be a whole number from 1 to 1024, got 1025/);
  usage(['--endpoint-name', 'e', '--concurrency', '2.5'], /got "2.5"/);
  usage(['--endpoint-name', 'e', '--timeout', '-1'], /^--timeout needs a value; write a value that starts with "-" as --timeout=VALUE/);
  usage(['--endpoint-name', 'e', '--timeout=-1'], /--timeout must be a number of seconds/);
  usage(['--endpoint-name', 'e', '--target-variant', 'a b'], /^--target-variant must be letters, digits and hyphens/);
  usage(['--endpoint-name', 'e', '--inference-id', 'x'.repeat(65)], /^--inference-id must be at most 64 characters, got 65/);
  usage(['--endpoint-name', 'e', '--endpoint-url', 'not a url'], /--endpoint-url must be an absolute http\(s\) URL/);
  usage(['--endpoint-name', 'e', 'a', 'b'], /at most one outfile/);
});

test('--envelope without --endpoint-name is allowed (records name their endpoint)', () => {
  assert.deepEqual(run(['--envelope']).defaults, {});
});

test('--ca-bundle FILE and --no-verify-ssl (the AWS CLI names); parsing reads no file', () => {
  const o = run(['--endpoint-name', 'ep', '--ca-bundle', '/no/such/ca.pem', '--no-verify-ssl']);
  assert.equal(o.caBundle, '/no/such/ca.pem');
  assert.equal(o.noVerifySsl, true);
  const d = run(['--endpoint-name', 'ep']);
  assert.equal(d.caBundle, undefined);
  assert.equal(d.noVerifySsl, false);
  usage(['--endpoint-name', 'ep', '--ca-bundle='], /--ca-bundle needs a file name/);
});

test('--async takes none of the other operations or answer readers', () => {
  for (const extra of [['--stream'], ['--prompt', '--llm', 'tgi'], ['--llm', 'openai'], ['--input-format', 'openai-batch']]) {
    usage(['--endpoint-name', 'ep', '--async', ...extra, 'out.ndjson'], /^--async and --(stream|prompt|llm|input-format) do not go together/);
  }
  assert.notEqual(run(['--endpoint-name', 'ep', '--async', 'out.ndjson']).async, undefined);
});
