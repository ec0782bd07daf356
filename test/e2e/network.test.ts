// Proxies and TLS trust end to end, through the built single executable (dist/sm-invoke): a real
// proxy (tinyproxy, started here with its own config), the emulator in plain and TLS mode with a CA
// made at test time, and a container-credentials server on loopback. All traffic stays on 127.0.0.1.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, beforeEach } from 'node:test';
import { EXAMPLE_CREDENTIAL } from '../../src/emulator/config.js';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { BINARY, ndjson, runCli, scrubbedEnv, type CliResult } from '../helpers/cli.js';
import { freePort, proxyTraffic, startTinyproxy, tinyproxyMissing, type Tinyproxy } from '../helpers/tinyproxy.js';
import { haveOpenssl, makeTestCerts, type TestCerts } from '../helpers/tls.js';
import { requireTools } from '../helpers/tools.js';

const noOpenssl = haveOpenssl() ? undefined : 'openssl is not installed (Debian package openssl), needed to make a test CA';
const noTinyproxy = tinyproxyMissing();
const RECORDS = ndjson([{ a: 1 }, { a: 2 }, { a: 3 }]);

let dir: string;
let certs: TestCerts;
let plain: Emulator;
let secure: Emulator;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sm-invoke-network-'));
  plain = await startEmulator({ logLimit: 1000 });
  if (!noOpenssl) {
    certs = makeTestCerts(dir);
    secure = await startEmulator({ logLimit: 1000 }, { tls: { cert: certs.cert, key: certs.key } });
  }
});
after(async () => {
  await plain?.close();
  await secure?.close();
  rmSync(dir, { recursive: true, force: true });
});

function invoke(url: string, env: Record<string, string | undefined>, extra: string[] = [], withCredentials = true): Promise<CliResult> {
  return runCli(['--endpoint-name', 'demo', '--endpoint-url', url, '--content-type', 'application/json', ...extra], {
    command: BINARY,
    input: RECORDS,
    env: scrubbedEnv(env, withCredentials),
  });
}

function assertAllOk(r: CliResult): void {
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.lines.length, 3, r.stderr);
  assert.ok(
    r.lines.every((l) => l.ok === true),
    JSON.stringify(r.lines),
  );
}

describe("TLS trust against the emulator's TLS mode", () => {
  beforeEach(() => requireTools(noOpenssl));
  test('an unknown CA: fatal, exit 3, the message says certificate and names --ca-bundle and AWS_CA_BUNDLE', async () => {
    const r = await invoke(secure.url, {});
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /fatal: .*certificate/i);
    assert.match(r.stderr, /--ca-bundle/);
    assert.match(r.stderr, /AWS_CA_BUNDLE/);
    assert.equal(r.lines.length, 0);
  });

  test('AWS_CA_BUNDLE trusts the CA', async () => {
    assertAllOk(await invoke(secure.url, { AWS_CA_BUNDLE: certs.caFile }));
  });

  test("the profile's ca_bundle trusts the CA", async () => {
    const config = join(dir, 'config-ca');
    writeFileSync(config, `[default]\nca_bundle = ${certs.caFile}\n`);
    assertAllOk(await invoke(secure.url, { AWS_CONFIG_FILE: config }));
  });

  test('--ca-bundle trusts the CA, and wins over AWS_CA_BUNDLE and the profile (which are not even read)', async () => {
    const config = join(dir, 'config-bad-ca');
    writeFileSync(config, '[default]\nca_bundle = /no/such/profile-ca.pem\n');
    assertAllOk(await invoke(secure.url, { AWS_CA_BUNDLE: '/no/such/env-ca.pem', AWS_CONFIG_FILE: config }, ['--ca-bundle', certs.caFile]));
  });

  test('a bundle of another CA does not trust the emulator: the bundle replaces the default roots', async () => {
    const other = makeTestCerts(mkdtempSync(join(dir, 'other-')));
    const r = await invoke(secure.url, { AWS_CA_BUNDLE: other.caFile });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /certificate/i);
  });

  test('NODE_EXTRA_CA_CERTS works in the single executable', async () => {
    assertAllOk(await invoke(secure.url, { NODE_EXTRA_CA_CERTS: certs.caFile }));
  });

  test('--no-verify-ssl: works, and warns exactly once however many records', async () => {
    const r = await invoke(secure.url, {}, ['--no-verify-ssl']);
    assertAllOk(r);
    assert.equal(r.stderr.match(/--no-verify-ssl: TLS certificates are not checked/g)?.length, 1, r.stderr);
  });

  test('an unreadable or certificate-less bundle is a usage error (exit 2) naming the file', async () => {
    const missing = await invoke(secure.url, {}, ['--ca-bundle', join(dir, 'missing.pem')]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /--ca-bundle: cannot read CA bundle .*missing\.pem: ENOENT/);
    const junk = join(dir, 'junk.pem');
    writeFileSync(junk, 'not a certificate\n');
    const bad = await invoke(secure.url, { AWS_CA_BUNDLE: junk });
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /AWS_CA_BUNDLE: .*junk\.pem holds no PEM certificate/);
  });
});

describe('through a real proxy (tinyproxy)', () => {
  beforeEach(() => requireTools(noTinyproxy));
  let proxy: Tinyproxy;
  let authProxy: Tinyproxy;
  /** A port nothing listens on, that the proxy may CONNECT to. */
  let deadPort: number;
  before(async () => {
    if (noTinyproxy) return;
    deadPort = await freePort();
    const connectPorts = secure ? [secure.port, deadPort] : [deadPort];
    proxy = await startTinyproxy({ connectPorts });
    authProxy = await startTinyproxy({ connectPorts, basicAuth: { user: 'alice', password: 'Pr0xyS3cret' } });
  });
  after(async () => {
    await proxy?.stop();
    await authProxy?.stop();
  });

  test("http endpoint: HTTP_PROXY forwards every request (absolute-form request line in the proxy's log)", async () => {
    const before = plain.log.length;
    const r = await invoke(plain.url, { HTTP_PROXY: proxy.url });
    assertAllOk(r);
    assert.equal(plain.log.length - before, 3);
    const forwarded = proxy.log().match(new RegExp(`Request \\(file descriptor \\d+\\): POST ${plain.url}/endpoints/demo/invocations`, 'g'));
    assert.equal(forwarded?.length, 3, proxy.log());
  });

  test('https endpoint: HTTPS_PROXY tunnels with CONNECT; TLS to the emulator inside the tunnel', async () => {
    requireTools(noOpenssl);
    const r = await invoke(secure.url, { HTTPS_PROXY: proxy.url, AWS_CA_BUNDLE: certs.caFile });
    assertAllOk(r);
    assert.match(proxy.log(), new RegExp(`CONNECT 127\\.0\\.0\\.1:${secure.port} HTTP/1\\.1`));
  });

  test("NO_PROXY sends the host direct: no connection and no request in the proxy's log", async () => {
    // Counted, not compared whole: tinyproxy logs the closing of an earlier test's connections a
    // little after that test has ended (the flake: "Closed connection ..." lines arriving late).
    const before = proxyTraffic(proxy.log());
    for (const noProxy of ['127.0.0.1', '127.0.0.0/8', `127.0.0.1:${plain.port}`, '*']) {
      assertAllOk(await invoke(plain.url, { HTTP_PROXY: proxy.url, NO_PROXY: noProxy }));
    }
    assert.deepEqual(proxyTraffic(proxy.log()), before, proxy.log());
  });

  test('proxy credentials from the URL: accepted, and never in --debug output', async () => {
    const r = await invoke(plain.url, { HTTP_PROXY: authProxy.url }, ['--debug']);
    assertAllOk(r);
    assert.match(r.stderr, new RegExp(`network: http endpoints via proxy http://\\*\\*\\*@127\\.0\\.0\\.1:${authProxy.port} \\(HTTP_PROXY\\)`));
    assert.ok(!r.stderr.includes('Pr0xyS3cret'), 'no password');
    assert.ok(!r.stderr.includes(Buffer.from('alice:Pr0xyS3cret').toString('base64')), 'no Basic token');
    assert.ok(!r.stderr.includes('alice'), 'no user name');
  });

  test('https through the authenticating proxy: the CONNECT carries the credentials', async () => {
    requireTools(noOpenssl);
    assertAllOk(await invoke(secure.url, { HTTPS_PROXY: authProxy.url, AWS_CA_BUNDLE: certs.caFile }));
  });

  test('407 without credentials: fatal, exit 3, naming the proxy (tunnel and forwarded alike)', async () => {
    const bare = authProxy.url.replace(/\/\/[^@]*@/, '//');
    const viaForward = await invoke(plain.url, { HTTP_PROXY: bare });
    assert.equal(viaForward.code, 3, viaForward.stderr);
    assert.match(viaForward.stderr, new RegExp(`fatal: ProxyAuthRequired: proxy http://127\\.0\\.0\\.1:${authProxy.port} wants authentication \\(407`));
    assert.equal(viaForward.lines.length, 0);
    if (!noOpenssl) {
      const viaTunnel = await invoke(secure.url, { HTTPS_PROXY: bare, AWS_CA_BUNDLE: certs.caFile });
      assert.equal(viaTunnel.code, 3, viaTunnel.stderr);
      assert.match(viaTunnel.stderr, /fatal: ProxyAuthRequired: .*407/);
    }
  });

  test('wrong credentials on CONNECT: fatal, and the password is not printed', async () => {
    requireTools(noOpenssl);
    // tinyproxy answers wrong credentials with 401 (missing ones with 407); only the proxy answers a CONNECT.
    const wrong = authProxy.url.replace('Pr0xyS3cret', 'WrongPassw0rd');
    const r = await invoke(secure.url, { HTTPS_PROXY: wrong, AWS_CA_BUNDLE: certs.caFile }, ['--debug']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /ProxyAuthRequired: proxy http:\/\/\*\*\*@127\.0\.0\.1:\d+ wants authentication .*refused the credentials/);
    assert.ok(!r.stderr.includes('WrongPassw0rd'));
  });

  test('CONNECT to a port the proxy does not allow (403): fatal, exit 3', async () => {
    const r = await invoke(`https://127.0.0.1:${plain.port}`, { HTTPS_PROXY: proxy.url });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /fatal: ProxyRefused: proxy http:\/\/127\.0\.0\.1:\d+ refused the tunnel \(403/);
  });

  test('a dead proxy (nothing listening): fatal, exit 3, naming the proxy without its credentials (forwarding and tunnel)', async () => {
    const port = await freePort();
    for (const [url, variable] of [
      [plain.url, 'HTTP_PROXY'],
      [`https://127.0.0.1:${plain.port}`, 'HTTPS_PROXY'],
    ] as const) {
      const r = await invoke(url, { [variable]: `http://bob:DeadS3cret@127.0.0.1:${port}` });
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, new RegExp(`cannot connect to proxy http://\\*\\*\\*@127\\.0\\.0\\.1:${port}`));
      assert.match(r.stderr, /HTTPS_PROXY \/ HTTP_PROXY/);
      assert.ok(!r.stderr.includes('DeadS3cret') && !r.stderr.includes('bob'), r.stderr);
    }
  });

  test('the proxy cannot reach the endpoint (5xx to CONNECT): fatal while nothing succeeded, exit 3', async () => {
    const r = await invoke(`https://127.0.0.1:${deadPort}`, { HTTPS_PROXY: proxy.url });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /ProxyTunnelFailed: proxy http:\/\/127\.0\.0\.1:\d+ could not open the tunnel \(status 5\d\d\)/);
  });

  test('container credentials are fetched through the proxy too (AWS_CONTAINER_CREDENTIALS_FULL_URI on loopback)', async (t) => {
    const key = { accessKeyId: 'ASIACONTAINEREXAMPLE', secretAccessKey: 'containerSecretKeyExample0000000000000000', sessionToken: 'container-session-token' };
    const emu = await startEmulator({ credentials: [EXAMPLE_CREDENTIAL, key] });
    let served = 0;
    const creds = http.createServer((_req, res) => {
      served++;
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          AccessKeyId: key.accessKeyId,
          SecretAccessKey: key.secretAccessKey,
          Token: key.sessionToken,
          Expiration: new Date(Date.now() + 3_600_000).toISOString(),
        }),
      );
    });
    creds.listen(0, '127.0.0.1');
    await once(creds, 'listening');
    t.after(async () => {
      creds.close();
      await emu.close();
    });
    const credsUrl = `http://127.0.0.1:${(creds.address() as AddressInfo).port}/v2/credentials/test`;
    const r = await invoke(emu.url, { HTTP_PROXY: proxy.url, AWS_CONTAINER_CREDENTIALS_FULL_URI: credsUrl }, [], false);
    assertAllOk(r);
    assert.ok(served >= 1);
    assert.match(proxy.log(), new RegExp(`Request \\(file descriptor \\d+\\): GET ${credsUrl.replace(/[/.]/g, '\\$&')} HTTP/1\\.1`));
    assert.ok(
      emu.log.every((e) => e.accessKeyId === key.accessKeyId),
      'signed with the container credentials',
    );
  });

  test('STS (web identity) goes through the proxy: the credential chain uses the transport (clientConfig.requestHandler)', async (t) => {
    const key = { accessKeyId: 'ASIASTSEXAMPLEKEY000', secretAccessKey: 'stsSecretKeyExample00000000000000000000000', sessionToken: 'sts-session-token' };
    const emu = await startEmulator({ credentials: [key] });
    const calls: string[] = [];
    const sts = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => {
        calls.push(body);
        res.setHeader('content-type', 'text/xml');
        res.end(
          '<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult>' +
            `<Credentials><AccessKeyId>${key.accessKeyId}</AccessKeyId><SecretAccessKey>${key.secretAccessKey}</SecretAccessKey>` +
            `<SessionToken>${key.sessionToken}</SessionToken><Expiration>${new Date(Date.now() + 3_600_000).toISOString()}</Expiration></Credentials>` +
            '<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn><AssumedRoleId>AROAEXAMPLE:s</AssumedRoleId></AssumedRoleUser>' +
            '</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>',
        );
      });
    });
    sts.listen(0, '127.0.0.1');
    await once(sts, 'listening');
    t.after(async () => {
      sts.close();
      await emu.close();
    });
    const stsUrl = `http://127.0.0.1:${(sts.address() as AddressInfo).port}`;
    const tokenFile = join(dir, 'web-identity-token');
    writeFileSync(tokenFile, 'header.payload.signature');
    const r = await invoke(
      emu.url,
      {
        HTTP_PROXY: proxy.url,
        AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
        AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/r',
        AWS_ENDPOINT_URL_STS: stsUrl,
        NODE_NO_WARNINGS: '1',
      },
      [],
      false,
    );
    assertAllOk(r);
    assert.equal(calls.length, 1);
    assert.match(calls[0]!, /^Action=AssumeRoleWithWebIdentity&/);
    assert.match(proxy.log(), new RegExp(`Request \\(file descriptor \\d+\\): POST ${stsUrl.replace(/[/.]/g, '\\$&')}/ HTTP/1\\.1`));
    assert.ok(
      emu.log.every((e) => e.accessKeyId === key.accessKeyId),
      "signed with the role's credentials",
    );
  });

  test('an https:// proxy (TLS to the proxy, trusted through the same CA bundle), then CONNECT and TLS to the endpoint', async (t) => {
    requireTools(noOpenssl);
    // TLS in front of tinyproxy: what a proxy reached over https:// looks like to the client.
    let accepted = 0;
    const front = tls.createServer({ key: certs.key, cert: certs.cert }, (socket) => {
      accepted++;
      const back = net.connect(proxy.port, '127.0.0.1');
      socket.pipe(back).pipe(socket);
      socket.on('error', () => back.destroy());
      back.on('error', () => socket.destroy());
    });
    front.on('tlsClientError', () => undefined);
    front.listen(0, '127.0.0.1');
    await once(front, 'listening');
    t.after(() => front.close());
    const httpsProxy = `https://127.0.0.1:${(front.address() as AddressInfo).port}`;
    assertAllOk(await invoke(secure.url, { HTTPS_PROXY: httpsProxy, AWS_CA_BUNDLE: certs.caFile }));
    assert.ok(accepted >= 1);
    assert.match(proxy.log(), new RegExp(`CONNECT 127\\.0\\.0\\.1:${secure.port} HTTP/1\\.1`));
    // Without the CA, the proxy's own certificate is refused: fatal, not retried forever.
    const r = await invoke(secure.url, { HTTPS_PROXY: httpsProxy });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /certificate/i);
  });
});
