// TLS trust as the AWS CLI does it: against the emulator's TLS mode with a CA made here, the AWS CLI
// (Debian's awscli) and sm-invoke succeed or fail together for each way of naming the CA bundle.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, beforeEach } from 'node:test';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { NO_AWS_CLI, runAwsCli } from '../helpers/awscli.js';
import { requireTools } from '../helpers/tools.js';
import { BINARY, runCli, scrubbedEnv } from '../helpers/cli.js';
import { haveOpenssl, makeTestCerts, type TestCerts } from '../helpers/tls.js';

const missing = [NO_AWS_CLI, !haveOpenssl() && 'openssl is not installed (Debian package openssl), needed to make a test CA'];

describe('CA bundle: the AWS CLI and sm-invoke agree', () => {
  beforeEach(() => requireTools(...missing));
  let dir: string;
  let certs: TestCerts;
  let other: TestCerts;
  let emu: Emulator;
  before(async () => {
    if (missing.some(Boolean)) return;
    dir = mkdtempSync(join(tmpdir(), 'sm-invoke-awscli-tls-'));
    certs = makeTestCerts(dir);
    other = makeTestCerts(mkdtempSync(join(dir, 'other-')));
    emu = await startEmulator({}, { tls: { cert: certs.cert, key: certs.key } });
  });
  after(async () => {
    await emu?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('no bundle, AWS_CA_BUNDLE, profile ca_bundle, --ca-bundle (winning over the others), another CA, --no-verify-ssl', async () => {
    const config = join(dir, 'config');
    writeFileSync(config, `[default]\nca_bundle = ${certs.caFile}\n`);
    const cases: Array<[string, Record<string, string>, string[], boolean]> = [
      ['no bundle', {}, [], false],
      ['AWS_CA_BUNDLE', { AWS_CA_BUNDLE: certs.caFile }, [], true],
      ['profile ca_bundle', { AWS_CONFIG_FILE: config }, [], true],
      ['--ca-bundle', {}, ['--ca-bundle', certs.caFile], true],
      ['--ca-bundle wins over AWS_CA_BUNDLE', { AWS_CA_BUNDLE: other.caFile }, ['--ca-bundle', certs.caFile], true],
      ['AWS_CA_BUNDLE wins over the profile', { AWS_CA_BUNDLE: other.caFile, AWS_CONFIG_FILE: config }, [], false],
      ['another CA', { AWS_CA_BUNDLE: other.caFile }, [], false],
      ['--no-verify-ssl', {}, ['--no-verify-ssl'], true],
    ];
    for (const [what, env, flags, ok] of cases) {
      const out = join(dir, 'out.json');
      const aws = await runAwsCli(
        [...flags, 'sagemaker-runtime', 'invoke-endpoint', '--endpoint-url', emu.url, '--endpoint-name', 'demo', '--body', 'e30=', out],
        env,
      ); // e30= is {} in base64, as the AWS CLI v2 reads a blob argument
      const sm = await runCli([...flags, '--endpoint-name', 'demo', '--endpoint-url', emu.url, '--body', '{}', out], {
        command: BINARY,
        env: scrubbedEnv(env),
      });
      assert.equal(aws.code === 0, ok, `${what}: AWS CLI exit ${aws.code}: ${aws.stderr}`);
      assert.equal(sm.code === 0, ok, `${what}: sm-invoke exit ${sm.code}: ${sm.stderr}`);
    }
  });
});
