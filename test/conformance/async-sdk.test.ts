// The emulator's InvokeEndpointAsync as the JS SDK v3 sees it: InvokeEndpointAsyncCommand (inline
// Body and InputLocation) parses the 202 (InferenceId from the body, OutputLocation and
// FailureLocation from the headers) and the ValidationError; @aws-sdk/client-s3 reads the output and
// failure objects the emulator wrote to a real S3-compatible server (s3rver).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { InvokeEndpointAsyncCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { S3_KEY, S3_SECRET, startS3, type S3Server } from '../helpers/s3.js';

let s3: S3Server;
let emu: Emulator;
let sm: SageMakerRuntimeClient;
before(async () => {
  s3 = await startS3();
  emu = await startEmulator({
    credentials: [{ accessKeyId: S3_KEY, secretAccessKey: S3_SECRET }],
    endpoints: { demo: {} },
    async: { outputPath: 's3://outputs/sdk', failurePath: 's3://outputs/sdk-failed', s3EndpointUrl: s3.url, workers: 2 },
  });
  sm = new SageMakerRuntimeClient({ region: 'us-east-1', endpoint: emu.url, credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_SECRET }, maxAttempts: 1 });
});
after(async () => {
  sm.destroy();
  await emu.close();
  await s3.close();
});

async function until(uri: string): Promise<void> {
  for (let i = 0; i < 400 && !(await s3.exists(uri)); i++) await new Promise((r) => setTimeout(r, 25));
}

test('InvokeEndpointAsyncCommand with an inline body: the 202 parsed; client-s3 reads the output', async () => {
  const res = await sm.send(
    new InvokeEndpointAsyncCommand({
      EndpointName: 'demo',
      Body: Buffer.from('{"q":"inline"}'),
      ContentType: 'application/json',
      InferenceId: 'sdk-inline-1',
      RequestTTLSeconds: 600,
      InvocationTimeoutSeconds: 60,
      S3OutputPathExtension: 'v1',
      Filename: 'answer.json',
    }),
  );
  assert.equal(res.$metadata.httpStatusCode, 202);
  assert.equal(res.InferenceId, 'sdk-inline-1');
  assert.equal(res.OutputLocation, 's3://outputs/sdk/v1/answer.json');
  assert.equal(res.FailureLocation, 's3://outputs/sdk-failed/v1/answer.json');
  const sent = emu.log.at(-1)!;
  assert.equal(sent.headers['x-amzn-sagemaker-content-type'], 'application/json');
  assert.equal(sent.headers['x-amzn-sagemaker-requestttlseconds'], '600');
  await until(res.OutputLocation!);
  const out = await s3.get(res.OutputLocation!);
  assert.equal(out.contentType, 'application/json');
  assert.equal(JSON.parse(out.body.toString()).body, '{"q":"inline"}');
});

test('InvokeEndpointAsyncCommand with an InputLocation; a model error lands in the failure object', async () => {
  await s3.put('s3://inputs/sdk/in.json', '{"q":"from s3"}', 'application/json');
  const res = await sm.send(new InvokeEndpointAsyncCommand({ EndpointName: 'demo', InputLocation: 's3://inputs/sdk/in.json' }));
  assert.match(res.InferenceId!, /^[0-9a-f-]{36}$/);
  assert.equal(res.OutputLocation, `s3://outputs/sdk/${res.InferenceId}.out`);
  assert.equal(res.FailureLocation, `s3://outputs/sdk-failed/${res.InferenceId}-error.out`);
  await until(res.OutputLocation!);
  assert.equal(JSON.parse((await s3.get(res.OutputLocation!)).body.toString()).body, '{"q":"from s3"}');

  const failing = await sm.send(
    new InvokeEndpointAsyncCommand({ EndpointName: 'demo', Body: Buffer.from('{"__emulator":{"fault":"model-error","originalStatusCode":422}}') }),
  );
  await until(failing.FailureLocation!);
  const f = JSON.parse((await s3.get(failing.FailureLocation!)).body.toString());
  assert.equal(f.ErrorCode, 'ModelError');
  assert.match(f.Message, /Received server error \(422\)/);
  assert.equal(await s3.exists(failing.OutputLocation!), false);
});

test("validation: the SDK raises ValidationError with the service's message", async () => {
  await assert.rejects(sm.send(new InvokeEndpointAsyncCommand({ EndpointName: 'demo', Body: Buffer.from('x'), RequestTTLSeconds: 30 })), (err: Error) => {
    assert.equal(err.name, 'ValidationError');
    assert.match(err.message, /Value '30' at 'requestTTLSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60/);
    return true;
  });
  await assert.rejects(
    sm.send(new InvokeEndpointAsyncCommand({ EndpointName: 'demo', Body: Buffer.from('x'), InputLocation: 's3://inputs/sdk/in.json' })),
    /mutually exclusive/,
  );
  await assert.rejects(sm.send(new InvokeEndpointAsyncCommand({ EndpointName: 'demo', Body: Buffer.alloc(128_001, 97) })), /less than or equal to 128000/);
});

test('an emulator without an async output path refuses InvokeEndpointAsync with a ValidationError', async () => {
  const plain = await startEmulator({ credentials: [{ accessKeyId: S3_KEY, secretAccessKey: S3_SECRET }], endpoints: { demo: {} } });
  const client = new SageMakerRuntimeClient({
    region: 'us-east-1',
    endpoint: plain.url,
    credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_SECRET },
    maxAttempts: 1,
  });
  try {
    await assert.rejects(client.send(new InvokeEndpointAsyncCommand({ EndpointName: 'demo', Body: Buffer.from('x') })), (err: Error) => {
      assert.equal(err.name, 'ValidationError');
      assert.match(err.message, /Endpoint demo is not configured for asynchronous inference/);
      return true;
    });
  } finally {
    client.destroy();
    await plain.close();
  }
});
