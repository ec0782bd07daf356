// HTTP_PROXY / NO_PROXY as the AWS CLI reads them: for each setting, the AWS CLI (Debian's awscli,
// botocore) and sm-invoke call the same emulator through the same tinyproxy, and the proxy's log
// says whether each client went through it. They must agree, except where docs/network.md says
// sm-invoke differs on purpose (CIDR entries).
import assert from 'node:assert/strict';
import { after, before, describe, test, beforeEach } from 'node:test';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { invokeWithAwsCli, NO_AWS_CLI } from '../helpers/awscli.js';
import { requireTools } from '../helpers/tools.js';
import { BINARY, runCli, scrubbedEnv } from '../helpers/cli.js';
import { freePort, startTinyproxy, tinyproxyMissing, type Tinyproxy } from '../helpers/tinyproxy.js';

const missing = [NO_AWS_CLI, tinyproxyMissing()];

describe('proxy selection: the AWS CLI and sm-invoke agree', () => {
  beforeEach(() => requireTools(...missing));
  let emu: Emulator;
  let proxy: Tinyproxy;
  before(async () => {
    if (missing.some(Boolean)) return;
    emu = await startEmulator({ logLimit: 1000 });
    proxy = await startTinyproxy();
  });
  after(async () => {
    await emu?.close();
    await proxy?.stop();
  });

  /** Whether one call went through the proxy: its log grows by a forwarded request. */
  async function viaProxy(call: () => Promise<{ code: number | null }>): Promise<boolean> {
    const before = proxy
      .log()
      .split('\n')
      .filter((l) => /Request \(file descriptor/.test(l)).length;
    const r = await call();
    assert.equal(r.code, 0);
    return (
      proxy
        .log()
        .split('\n')
        .filter((l) => /Request \(file descriptor/.test(l)).length > before
    );
  }

  const cases = (port: number): Array<[string, Record<string, string>, string]> => [
    ['HTTP_PROXY alone', { HTTP_PROXY: proxy.url }, 'localhost'],
    ['lower-case http_proxy', { http_proxy: proxy.url }, 'localhost'],
    ['empty http_proxy overrides HTTP_PROXY', { HTTP_PROXY: proxy.url, http_proxy: '' }, 'localhost'],
    ['NO_PROXY=localhost', { HTTP_PROXY: proxy.url, NO_PROXY: 'localhost' }, 'localhost'],
    ['NO_PROXY=.localhost', { HTTP_PROXY: proxy.url, NO_PROXY: '.localhost' }, 'localhost'],
    ['NO_PROXY=LOCALHOST', { HTTP_PROXY: proxy.url, NO_PROXY: 'LOCALHOST' }, 'localhost'],
    ['NO_PROXY=host (not a suffix at a dot)', { HTTP_PROXY: proxy.url, NO_PROXY: 'host' }, 'localhost'],
    ['NO_PROXY=localhost:port', { HTTP_PROXY: proxy.url, NO_PROXY: `localhost:${port}` }, 'localhost'],
    ['NO_PROXY=localhost:other port', { HTTP_PROXY: proxy.url, NO_PROXY: `localhost:${port + 1}` }, 'localhost'],
    ['NO_PROXY=a.example, localhost', { HTTP_PROXY: proxy.url, NO_PROXY: 'a.example, localhost' }, 'localhost'],
    ['NO_PROXY=* ', { HTTP_PROXY: proxy.url, NO_PROXY: '*' }, 'localhost'],
    ['no_proxy wins over NO_PROXY', { HTTP_PROXY: proxy.url, NO_PROXY: 'localhost', no_proxy: 'a.example' }, 'localhost'],
    ['NO_PROXY=127.0.0.1 for 127.0.0.1', { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' }, '127.0.0.1'],
    ['NO_PROXY=127.0.0.1 for localhost (no DNS)', { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' }, 'localhost'],
    ['HTTPS_PROXY only: an http endpoint goes direct', { HTTPS_PROXY: proxy.url }, '127.0.0.1'],
  ];

  test('every setting: both clients through the proxy, or both direct', async () => {
    const rows: string[] = [];
    for (const [what, env, host] of cases(emu.port)) {
      const url = `http://${host}:${emu.port}`;
      const aws = await viaProxy(() => invokeWithAwsCli({ endpointUrl: url, endpointName: 'demo', body: '{}' }, env));
      const sm = await viaProxy(() =>
        runCli(['--endpoint-name', 'demo', '--endpoint-url', url, '--body', '{}', '-'], { command: BINARY, env: scrubbedEnv(env) }),
      );
      rows.push(`${what}: aws ${aws ? 'proxy' : 'direct'}, sm-invoke ${sm ? 'proxy' : 'direct'}`);
      assert.equal(sm, aws, rows.join('\n'));
    }
  });

  test('a CIDR entry: the AWS CLI ignores it, sm-invoke goes direct (documented difference)', async () => {
    const env = { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.0/8' };
    const url = `http://127.0.0.1:${emu.port}`;
    assert.equal(await viaProxy(() => invokeWithAwsCli({ endpointUrl: url, endpointName: 'demo', body: '{}' }, env)), true);
    assert.equal(
      await viaProxy(() => runCli(['--endpoint-name', 'demo', '--endpoint-url', url, '--body', '{}', '-'], { command: BINARY, env: scrubbedEnv(env) })),
      false,
    );
  });

  test("a dead proxy with --body: the AWS CLI's message and exit code 255, credentials masked", async () => {
    const env = { HTTP_PROXY: `http://bob:DeadS3cret@127.0.0.1:${await freePort()}` };
    const url = `http://127.0.0.1:${emu.port}`;
    const aws = await invokeWithAwsCli({ endpointUrl: url, endpointName: 'demo', body: '{}' }, env);
    const sm = await runCli(['--endpoint-name', 'demo', '--endpoint-url', url, '--body', '{}', '-'], { command: BINARY, env: scrubbedEnv(env) });
    assert.equal(aws.code, 255);
    assert.equal(sm.code, 255);
    const line = (text: string): string | undefined => /^Failed to connect to proxy URL: .*$/m.exec(text)?.[0];
    assert.equal(line(sm.stderr), line(aws.stderr));
    assert.ok(!sm.stderr.includes('DeadS3cret') && !sm.stderr.includes('bob'), sm.stderr);
  });
});
