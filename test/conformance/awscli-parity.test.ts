// The same record sent by the AWS CLI and by sm-invoke: the emulator must see the same request
// (method, path, body bytes, SageMaker headers), and both must get the same answer.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEmulator, type Emulator, type RequestLogEntry } from '../../src/emulator/server.js';
import { invokeWithAwsCli, NO_AWS_CLI } from '../helpers/awscli.js';
import { requireTools } from '../helpers/tools.js';
import { ndjson, runCli } from '../helpers/cli.js';

let emu: Emulator;
before(async () => {
  emu = await startEmulator({
    endpoints: {
      multi: { variants: [{ name: 'AllTraffic' }, { name: 'canary' }], containers: ['c1'], models: '*' },
      plain: { variants: [{ name: 'AllTraffic' }] },
    },
  });
});
after(() => emu.close());

const SIGNIFICANT = /^(content-type|accept|x-amzn-sagemaker-.*)$/;
const significant = (e: RequestLogEntry) => ({
  method: e.method,
  path: e.path,
  body: e.body.toString('base64'),
  headers: Object.fromEntries(
    Object.entries(e.headers)
      .filter(([k]) => SIGNIFICANT.test(k))
      .sort(([a], [b]) => a.localeCompare(b)),
  ),
  status: e.status,
});

test('AWS CLI and sm-invoke send the same request for the same record', async () => {
  requireTools(NO_AWS_CLI);
  const body = Buffer.concat([Buffer.from('{"inputs":"héllo"}'), Buffer.from([0x00, 0xff])]);
  const options = {
    contentType: 'application/octet-stream',
    accept: 'application/json',
    customAttributes: 'trace=abc; x=1',
    targetModel: 'model-7.tar.gz',
    targetVariant: 'canary',
    targetContainerHostname: 'c1',
    inferenceId: 'parity-1',
    enableExplanations: '`true`',
  };
  const before1 = emu.log.length;
  const cli = await invokeWithAwsCli({ endpointUrl: emu.url, endpointName: 'multi', body, ...options });
  assert.equal(cli.code, 0, cli.stderr);
  const ours = await runCli(['--endpoint-url', emu.url, '--envelope'], {
    input: ndjson([{ endpointName: 'multi', bodyBase64: body.toString('base64'), ...options }]),
  });
  assert.equal(ours.code, 0, ours.stderr);
  const [a, b] = emu.log.slice(before1);
  assert.ok(a && b, 'two requests logged');
  assert.deepEqual(significant(b), significant(a));
  // Both got the same answer: the CLI's outfile holds the body our result carries.
  const result = ours.lines[0]!;
  assert.deepEqual(result.body, JSON.parse(cli.output!.toString('utf8')));
  assert.equal(result.invokedProductionVariant, 'canary');
  assert.equal(result.customAttributes, 'trace=abc; x=1');
  const meta = JSON.parse(cli.stdout) as Record<string, string>;
  assert.equal(meta.InvokedProductionVariant, result.invokedProductionVariant);
  assert.equal(meta.ContentType, result.contentType);
  assert.equal(meta.CustomAttributes, result.customAttributes);
});

test('with no --content-type neither client sends one', async () => {
  requireTools(NO_AWS_CLI);
  const before1 = emu.log.length;
  const cli = await invokeWithAwsCli({ endpointUrl: emu.url, endpointName: 'plain', body: Buffer.from('x') });
  assert.equal(cli.code, 0, cli.stderr);
  const ours = await runCli(['--endpoint-url', emu.url, '--endpoint-name', 'plain'], { input: 'x\n' });
  assert.equal(ours.code, 0, ours.stderr);
  const [a, b] = emu.log.slice(before1);
  assert.deepEqual(significant(b!), significant(a!));
  assert.equal(a!.headers['content-type'], undefined);
});
