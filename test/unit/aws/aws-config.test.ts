// aws-config.ts and retry-config.ts in-process: where the region and the retry settings come from, in
// which order, and the usage errors that name a bad value's source. Instance metadata is injected here;
// the real lookup against a fake IMDS on loopback is in aws-config-cli.test.ts.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseArgs, type Options } from '../../../src/cli/args.js';
import { INSTANCE_METADATA, resolveTarget, type TargetDeps } from '../../../src/aws/config.js';
import { applyRetrySettings } from '../../../src/cli/args.js';
import { UsageError } from '../../../src/errors.js';
import { tempDir } from '../../helpers/cli.js';

type Env = Record<string, string | undefined>;

/** A config file with these profiles, and an environment that reads it (and nothing of this machine's). */
function setup(config: string, extra: Env = {}): Env {
  const dir = tempDir();
  writeFileSync(join(dir, 'config'), config);
  return { AWS_CONFIG_FILE: join(dir, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'), ...extra };
}
const options = (argv: string[] = []): Options => {
  const c = parseArgs(['--endpoint-name', 'e', ...argv]);
  assert.equal(c.kind, 'run');
  return (c as { options: Options }).options;
};

/** What a run resolves: the target, and the options with the retry settings applied (as main does). */
async function resolveRun(opts: Options, env: Record<string, string | undefined>, deps?: TargetDeps) {
  const t = await resolveTarget({ ...opts, maxAttempts: opts.given.has('max-attempts') ? opts.maxAttempts : undefined }, env, deps);
  return { ...t, options: applyRetrySettings(opts, t.retry) };
}
const noImds: TargetDeps = { instanceRegion: () => assert.fail('instance metadata must not be asked') };
const imds = (region: string | undefined): TargetDeps & { calls: number } => {
  const d = {
    calls: 0,
    instanceRegion: async () => {
      d.calls++;
      return region;
    },
  };
  return d;
};
const rejects = (p: Promise<unknown>, message: RegExp): Promise<void> =>
  assert.rejects(p, (e: unknown) => e instanceof UsageError && message.test(e.message) && !e.message.includes('\n'));

test('region: --region, AWS_REGION, AWS_DEFAULT_REGION, the profile, then instance metadata, each naming its source', async () => {
  const env = setup('[default]\nregion = eu-west-3\n');
  const at = async (argv: string[], extra: Env, deps: TargetDeps = noImds): Promise<[string, string]> => {
    const t = await resolveRun(options(argv), { ...env, ...extra }, deps);
    return [t.region, t.regionSource];
  };
  const all = { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'eu-west-2' };
  assert.deepEqual(await at(['--region', 'ap-south-1'], all), ['ap-south-1', '--region']);
  assert.deepEqual(await at([], all), ['eu-west-1', 'AWS_REGION']);
  assert.deepEqual(await at([], { AWS_DEFAULT_REGION: 'eu-west-2', AWS_REGION: '' }), ['eu-west-2', 'AWS_DEFAULT_REGION']);
  assert.deepEqual(await at([], {}), ['eu-west-3', 'profile "default" (region)']);
  const bare = setup('[default]\noutput = json\n');
  const fromImds = imds('ca-central-1');
  const t = await resolveRun(options(), bare, fromImds);
  assert.deepEqual(
    [t.region, t.regionSource, t.url, t.signingRegion],
    ['ca-central-1', INSTANCE_METADATA, 'https://runtime.sagemaker.ca-central-1.amazonaws.com', 'ca-central-1'],
  );
  assert.equal(fromImds.calls, 1);
  // FIPS still applies to a region from instance metadata.
  assert.equal(
    (await resolveRun(options(), { ...bare, AWS_USE_FIPS_ENDPOINT: 'true' }, imds('ca-central-1'))).url,
    'https://runtime-fips.sagemaker.ca-central-1.amazonaws.com',
  );
});

test('no region: instance metadata off (AWS_EC2_METADATA_DISABLED) is never asked; one that answers nothing is said so', async () => {
  const env = setup('[default]\noutput = json\n');
  await rejects(
    resolveRun(options(), { ...env, AWS_EC2_METADATA_DISABLED: 'true' }, noImds),
    /^no region: give --region, or set AWS_REGION, or region in profile "default" of the AWS config file \(instance metadata is off: AWS_EC2_METADATA_DISABLED\)$/,
  );
  const none = imds(undefined);
  await rejects(resolveRun(options(), env, none), /^no region: .* \(instance metadata gave none\)$/);
  assert.equal(none.calls, 1);
});

test("max attempts: --max-attempts, AWS_MAX_ATTEMPTS, the profile's max_attempts, then 3", async () => {
  const env = setup('[default]\nregion = us-east-1\nmax_attempts = 6\n[profile other]\nregion = us-east-1\n');
  const at = async (argv: string[], extra: Env = {}): Promise<[number, string]> => {
    const t = await resolveRun(options(argv), { ...env, ...extra }, noImds);
    assert.equal(t.options.maxAttempts, t.retry.maxAttempts, 'the run uses it');
    return [t.retry.maxAttempts, t.retry.maxAttemptsSource];
  };
  assert.deepEqual(await at(['--max-attempts', '2'], { AWS_MAX_ATTEMPTS: '7' }), [2, '--max-attempts']);
  assert.deepEqual(await at([], { AWS_MAX_ATTEMPTS: '7' }), [7, 'AWS_MAX_ATTEMPTS']);
  assert.deepEqual(await at([], { AWS_MAX_ATTEMPTS: '' }), [6, 'profile "default" (max_attempts)']);
  assert.deepEqual(await at(['--profile', 'other']), [3, 'default']);
  // The flag's value equal to the default still wins (it was given).
  assert.deepEqual(await at(['--max-attempts', '3'], { AWS_MAX_ATTEMPTS: '7' }), [3, '--max-attempts']);
});

test('a bad max_attempts or retry_mode is a usage error naming where it is', async () => {
  const env = setup(
    '[default]\nregion = us-east-1\n[profile zero]\nregion = us-east-1\nmax_attempts = 0\n' +
      '[profile words]\nregion = us-east-1\nmax_attempts = three\n[profile fast]\nregion = us-east-1\nretry_mode = fast\n',
  );
  await rejects(resolveRun(options(), { ...env, AWS_MAX_ATTEMPTS: 'x' }, noImds), /^AWS_MAX_ATTEMPTS must be a whole number from 1 to 100, got "x"$/);
  await rejects(resolveRun(options(), { ...env, AWS_MAX_ATTEMPTS: '3x' }, noImds), /^AWS_MAX_ATTEMPTS must be a whole number from 1 to 100, got "3x"$/);
  await rejects(resolveRun(options(), { ...env, AWS_MAX_ATTEMPTS: '101' }, noImds), /^AWS_MAX_ATTEMPTS must be .*, got "101"$/);
  await rejects(resolveRun(options(['--profile', 'zero']), env, noImds), /^profile "zero" \(max_attempts\) must be a whole number from 1 to 100, got "0"$/);
  await rejects(resolveRun(options(['--profile', 'words']), env, noImds), /^profile "words" \(max_attempts\) must be a whole number/);
  await rejects(
    resolveRun(options(['--profile', 'fast']), env, noImds),
    /^profile "fast" \(retry_mode\) must be one of standard, adaptive, legacy, got "fast"$/,
  );
  await rejects(
    resolveRun(options(), { ...env, AWS_RETRY_MODE: 'Standard' }, noImds),
    /^AWS_RETRY_MODE must be one of standard, adaptive, legacy, got "Standard"$/,
  );
  // A bad value in a source that a higher one overrides is not read, as in the SDK.
  assert.equal((await resolveRun(options(['--profile', 'zero', '--max-attempts', '2']), env, noImds)).retry.maxAttempts, 2);
});

test('retry mode: AWS_RETRY_MODE, then the profile; adaptive means --concurrency auto unless --concurrency is given; legacy runs as standard', async () => {
  const env = setup('[default]\nregion = us-east-1\nretry_mode = adaptive\n[profile old]\nregion = us-east-1\nretry_mode = legacy\n');
  const t = await resolveRun(options(), env, noImds);
  assert.deepEqual([t.retry.retryMode, t.retry.retryModeSource], ['adaptive', 'profile "default" (retry_mode)']);
  assert.deepEqual([t.options.adaptive, t.options.concurrency], [true, 256], 'auto, with the default ceiling');
  const fixed = await resolveRun(options(['--concurrency', '4']), env, noImds);
  assert.deepEqual([fixed.options.adaptive, fixed.options.concurrency], [false, 4], 'an explicit --concurrency wins');
  const auto = await resolveRun(options(['--concurrency', 'auto', '--max-concurrency', '32']), env, noImds);
  assert.deepEqual([auto.options.adaptive, auto.options.concurrency], [true, 32]);
  const env2 = await resolveRun(options(), { ...env, AWS_RETRY_MODE: 'standard' }, noImds);
  assert.deepEqual(
    [env2.retry.retryMode, env2.retry.retryModeSource, env2.options.adaptive, env2.options.concurrency],
    ['standard', 'AWS_RETRY_MODE', false, 8],
  );
  const legacy = await resolveRun(options(['--profile', 'old']), env, noImds);
  assert.deepEqual([legacy.retry.retryMode, legacy.retry.retryModeConfigured, legacy.options.adaptive], ['standard', 'legacy', false]);
  const none = await resolveRun(options(), setup('[default]\nregion = us-east-1\n'), noImds);
  assert.deepEqual([none.retry.retryMode, none.retry.retryModeSource, none.retry.maxAttempts], ['standard', 'default', 3]);
});
