// The built single executable against a fake EC2 instance metadata service on loopback
// (AWS_EC2_METADATA_SERVICE_ENDPOINT; never the real link-local address), and retry settings from a
// profile: where the region, the attempt bound and the retry mode come from when no flag gives them.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { ACCESS_KEY_ID, BINARY, ndjson, runCli, scrubbedEnv, SECRET_ACCESS_KEY, tempDir } from '../helpers/cli.js';

/** IMDSv2 as EC2 serves it: PUT /latest/api/token with a TTL gives a token; metadata GETs need it. */
interface FakeImds {
  url: string;
  calls: string[];
  region: string;
  close(): Promise<void>;
}

async function startFakeImds(region: string): Promise<FakeImds> {
  const token = 'fake-imds-token-0123456789';
  const calls: string[] = [];
  const server: Server = createServer((req, res) => {
    calls.push(`${req.method} ${req.url}`);
    if (req.method === 'PUT' && req.url === '/latest/api/token') {
      if (req.headers['x-aws-ec2-metadata-token-ttl-seconds'] === undefined) {
        res.writeHead(400).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end(token);
      return;
    }
    if (req.method === 'GET' && req.url === '/latest/meta-data/placement/region') {
      if (req.headers['x-aws-ec2-metadata-token'] !== token) {
        res.writeHead(401).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end(fake.region);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const fake: FakeImds = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    region,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return fake;
}

/** A loopback port with nothing listening. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

let emu: Emulator;
let imds: FakeImds;
before(async () => {
  // The emulator checks that the credential scope names its region: a success proves the signing region.
  emu = await startEmulator({ region: 'eu-central-1', endpoints: { demo: {} } });
  imds = await startFakeImds('eu-central-1');
});
after(async () => {
  await emu.close();
  await imds.close();
});

/** No region anywhere but instance metadata, which is the fake one. */
const imdsEnv = (extra: Record<string, string | undefined> = {}): Record<string, string> =>
  scrubbedEnv({ AWS_REGION: undefined, AWS_EC2_METADATA_DISABLED: undefined, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url, ...extra });

describe('region from instance metadata (IMDSv2), through the built binary', () => {
  test('requests are signed for the region the instance metadata names, and the debug log says where it came from', async () => {
    const before = imds.calls.length;
    const r = await runCli(['--endpoint-name', 'demo', '--endpoint-url', emu.url, '--debug'], { command: BINARY, input: '{"x":1}\n', env: imdsEnv() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.lines[0]?.ok, true, JSON.stringify(r.lines[0]));
    assert.deepEqual(imds.calls.slice(before), ['PUT /latest/api/token', 'GET /latest/meta-data/placement/region'], 'IMDSv2: a token, then the region');
    assert.match(
      r.stderr,
      /^sm-invoke: region eu-central-1 \(from instance metadata \(IMDS\)\); requests go to http:\/\/127\.0\.0\.1:\d+; max attempts 3 \(from default\); retry mode standard \(from default\)$/m,
    );
    assert.match(r.stderr, /Credential=AKIA\*\*\*\*\/\d{8}\/eu-central-1\/sagemaker\/aws4_request/);
  });

  test("without --endpoint-url the request goes to that region's endpoint (--dry-run)", async () => {
    const r = await runCli(['--endpoint-name', 'demo', '--dry-run'], { command: BINARY, input: '{"x":1}\n', env: imdsEnv() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.lines[0]?.request?.url, 'https://runtime.sagemaker.eu-central-1.amazonaws.com/endpoints/demo/invocations');
  });

  test('any configured region wins; instance metadata is not asked', async () => {
    const before = imds.calls.length;
    const r = await runCli(['--endpoint-name', 'demo', '--dry-run'], {
      command: BINARY,
      input: '{"x":1}\n',
      env: imdsEnv({ AWS_DEFAULT_REGION: 'ap-northeast-2' }),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.lines[0]?.request?.url, 'https://runtime.sagemaker.ap-northeast-2.amazonaws.com/endpoints/demo/invocations');
    assert.equal(imds.calls.length, before);
  });

  test('AWS_EC2_METADATA_DISABLED=true: not asked, and no region is the clear usage error', async () => {
    const before = imds.calls.length;
    const r = await runCli(['--endpoint-name', 'demo'], { command: BINARY, input: '{"x":1}\n', env: imdsEnv({ AWS_EC2_METADATA_DISABLED: 'true' }) });
    assert.equal(r.code, 2);
    assert.equal(r.stdout.length, 0);
    assert.equal(
      r.stderr,
      'sm-invoke: no region: give --region, or set AWS_REGION, or region in profile "default" of the AWS config file' +
        ' (instance metadata is off: AWS_EC2_METADATA_DISABLED)\n',
    );
    assert.equal(imds.calls.length, before);
  });

  test('instance metadata that does not answer: the same usage error, quickly', async () => {
    const started = Date.now();
    const r = await runCli(['--endpoint-name', 'demo'], {
      command: BINARY,
      input: '{"x":1}\n',
      env: imdsEnv({ AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${await closedPort()}` }),
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^sm-invoke: no region: give --region, .* \(instance metadata gave none\)\n$/);
    assert.ok(Date.now() - started < 5_000, 'no long wait');
  });

  test('instance metadata that refuses the token (IMDSv1 only): no region', async () => {
    const v1 = createServer((req, res) => {
      if (req.method === 'PUT') res.writeHead(403).end();
      else res.writeHead(200).end('eu-central-1');
    });
    await new Promise<void>((resolve) => v1.listen(0, '127.0.0.1', resolve));
    try {
      const r = await runCli(['--endpoint-name', 'demo'], {
        command: BINARY,
        input: '{"x":1}\n',
        env: imdsEnv({ AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${(v1.address() as AddressInfo).port}` }),
      });
      assert.equal(r.code, 2, 'the SDK uses IMDSv2 only for the region');
      assert.match(r.stderr, /instance metadata gave none/);
    } finally {
      await new Promise((resolve) => v1.close(resolve));
    }
  });
});

describe('retry settings from the profile and the environment, through the built binary', () => {
  const dir = tempDir();
  writeFileSync(
    join(dir, 'config'),
    [
      '[default]',
      'region = eu-central-1',
      'max_attempts = 2',
      '',
      '[profile adaptive]',
      'region = eu-central-1',
      'retry_mode = adaptive',
      `aws_access_key_id = ${ACCESS_KEY_ID}`,
      `aws_secret_access_key = ${SECRET_ACCESS_KEY}`,
      '',
      '[profile broken]',
      'region = eu-central-1',
      'max_attempts = many',
      '',
    ].join('\n'),
  );
  const env = (extra: Record<string, string | undefined> = {}): Record<string, string> =>
    scrubbedEnv({ AWS_REGION: undefined, AWS_CONFIG_FILE: join(dir, 'config'), ...extra });
  /** --profile: credentials from that profile, not the environment. */
  const profileEnv = (): Record<string, string> => env({ AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined });
  const failing = (t: string): string => ndjson([{ body: { t, __emulator: { fault: 'unavailable', times: 99 } } }]);

  test('max_attempts from the profile; AWS_MAX_ATTEMPTS over it; --max-attempts over both', async () => {
    const viaProfile = await runCli(['--endpoint-name', 'demo', '--endpoint-url', emu.url, '--envelope'], {
      command: BINARY,
      input: failing('profile-attempts'),
      env: env(),
    });
    assert.deepEqual([viaProfile.code, viaProfile.lines[0]?.attempts, viaProfile.lines[0]?.error?.code], [1, 2, 'ServiceUnavailable'], viaProfile.stderr);
    const viaEnv = await runCli(['--endpoint-name', 'demo', '--endpoint-url', emu.url, '--envelope'], {
      command: BINARY,
      input: failing('env-attempts'),
      env: env({ AWS_MAX_ATTEMPTS: '4' }),
    });
    assert.deepEqual([viaEnv.code, viaEnv.lines[0]?.attempts], [1, 4], viaEnv.stderr);
    const viaFlag = await runCli(['--endpoint-name', 'demo', '--endpoint-url', emu.url, '--envelope', '--max-attempts', '1'], {
      command: BINARY,
      input: failing('flag-attempts'),
      env: env({ AWS_MAX_ATTEMPTS: '4' }),
    });
    assert.deepEqual([viaFlag.code, viaFlag.lines[0]?.attempts], [1, 1], viaFlag.stderr);
  });

  test('retry_mode = adaptive runs --concurrency auto; an explicit --concurrency wins', async () => {
    const stats = join(dir, 'stats.json');
    const r = await runCli(['--endpoint-name', 'demo', '--endpoint-url', emu.url, '--profile', 'adaptive', '--stats-json', stats, '--debug'], {
      command: BINARY,
      input: '{"x":1}\n',
      env: profileEnv(),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /retry mode adaptive \(from profile "adaptive" \(retry_mode\)\)/);
    const { readFileSync } = await import('node:fs');
    const auto = JSON.parse(readFileSync(stats, 'utf8'));
    assert.deepEqual([typeof auto.concurrency, auto.concurrencyMode], ['number', 'auto'], 'the adaptive limit is reported');
    const fixed = await runCli(['--endpoint-name', 'demo', '--endpoint-url', emu.url, '--profile', 'adaptive', '--concurrency', '2', '--stats-json', stats], {
      command: BINARY,
      input: '{"x":1}\n',
      env: profileEnv(),
    });
    assert.equal(fixed.code, 0, fixed.stderr);
    const fixedStats = JSON.parse(readFileSync(stats, 'utf8'));
    assert.deepEqual([fixedStats.concurrency, fixedStats.concurrencyMode], [2, 'fixed'], 'a fixed concurrency: no adaptive limit');
  });

  test('a bad value is a usage error naming its source, before anything is sent', async () => {
    const from = emu.log.length;
    const bad = await runCli(['--endpoint-name', 'demo', '--endpoint-url', emu.url, '--profile', 'broken'], {
      command: BINARY,
      input: '{"x":1}\n',
      env: profileEnv(),
    });
    assert.deepEqual([bad.code, bad.stderr], [2, 'sm-invoke: profile "broken" (max_attempts) must be a whole number from 1 to 100, got "many"\n']);
    const mode = await runCli(['--endpoint-name', 'demo', '--endpoint-url', emu.url], {
      command: BINARY,
      input: '{"x":1}\n',
      env: env({ AWS_RETRY_MODE: 'turbo' }),
    });
    assert.deepEqual([mode.code, mode.stderr], [2, 'sm-invoke: AWS_RETRY_MODE must be one of standard, adaptive, legacy, got "turbo"\n']);
    assert.equal(emu.log.length, from);
  });
});
