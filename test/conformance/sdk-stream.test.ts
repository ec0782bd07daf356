// The SDK is the reference for the streaming operation:
// - its model (@aws-sdk/client-sagemaker-runtime's schemas): every input and output member of
//   InvokeEndpoint and InvokeEndpointWithResponseStream, and every event of the ResponseStream union,
//   is one sm-invoke knows (fields.ts, stream-request.ts, members.ts, aws/event-stream.ts), with the
//   same wire header; a member the SDK grows fails this test;
// - its client: InvokeEndpointWithResponseStreamCommand against the emulator decodes the same parts
//   and bytes as sm-invoke for every stream model and mid-stream fault;
// - its codec: sm-invoke decodes a stream the SDK's EventStreamCodec encoded (headers of every
//   type, several messages in one chunk, messages cut across chunks, an event type it does not know).
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import * as sdk from '@aws-sdk/client-sagemaker-runtime';
import { EventStreamCodec, Int64 } from '@smithy/core/event-streams';
import { H_SM_ACCEPT } from '../../src/constants.js';
import { RESPONSE_STREAM_MEMBERS } from '../../src/aws/event-stream.js';
import { FIELDS } from '../../src/core/fields.js';
import { NON_FIELD_INPUTS, OUTPUT_MEMBERS } from '../../src/core/members.js';
import { NOT_STREAMED } from '../../src/core/stream-request.js';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { ACCESS_KEY_ID, BINARY, runCli, SECRET_ACCESS_KEY } from '../helpers/cli.js';

type Schema = [number, string, string, unknown, string[], unknown[], number?];
const shapes = sdk as unknown as Record<string, Schema>;

/** A structure's members: name -> its httpHeader (lower-case), 'label', 'payload' or undefined. */
function members(name: string): Map<string, string | undefined> {
  const s = shapes[`${name}$`];
  assert.ok(Array.isArray(s), `the SDK exports ${name}$`);
  const out = new Map<string, string | undefined>();
  s[4].forEach((m, i) => {
    const traits = (s[5][i] as unknown[] | undefined)?.[1];
    let where: string | undefined;
    if (typeof traits === 'object' && traits !== null && typeof (traits as Record<string, unknown>).httpHeader === 'string') {
      where = ((traits as Record<string, string>).httpHeader as string).toLowerCase();
    } else if (traits === 1) where = 'label';
    else if (traits === 16) where = 'payload';
    out.set(m, where);
  });
  return out;
}

const lcfirst = (s: string): string => s[0]!.toLowerCase() + s.slice(1);
const FIELD_HEADERS = new Map(FIELDS.map((f) => [f.key as string, f.header]));

describe("the SDK's model", () => {
  test('every InvokeEndpoint input member is a field (flag, envelope key) with the same header', () => {
    for (const [m, header] of members('InvokeEndpointInput')) {
      if (NON_FIELD_INPUTS.includes(m)) continue;
      assert.ok(FIELD_HEADERS.has(lcfirst(m)), `sm-invoke does not know InvokeEndpoint's ${m}`);
      assert.equal(FIELD_HEADERS.get(lcfirst(m)), header, `${m}'s header`);
    }
  });

  test('every InvokeEndpointWithResponseStream input member is a field; what InvokeEndpoint has beyond them is refused', () => {
    const streamed = members('InvokeEndpointWithResponseStreamInput');
    for (const [m, header] of streamed) {
      if (NON_FIELD_INPUTS.includes(m)) continue;
      assert.ok(FIELD_HEADERS.has(lcfirst(m)), `sm-invoke does not know the streaming operation's ${m}`);
      // Accept is X-Amzn-SageMaker-Accept here (stream-request.ts moves it).
      assert.equal(m === 'Accept' ? H_SM_ACCEPT : FIELD_HEADERS.get(lcfirst(m)), header, `${m}'s header`);
    }
    const lacking = [...members('InvokeEndpointInput').keys()].filter((m) => !streamed.has(m)).map(lcfirst);
    assert.deepEqual(lacking.sort(), NOT_STREAMED.map((n) => n.key as string).sort());
  });

  test('every output member of both operations is read into the result', () => {
    for (const op of ['InvokeEndpoint', 'InvokeEndpointWithResponseStream'] as const) {
      const known = OUTPUT_MEMBERS[op];
      for (const [m, header] of members(`${op}Output`)) {
        assert.ok(known[m] !== undefined, `sm-invoke does not read ${op}'s output member ${m}`);
        assert.equal(known[m]!.header ?? 'payload', header, `${op} ${m}'s header`);
      }
      assert.deepEqual(Object.keys(known).sort(), [...members(`${op}Output`).keys()].sort());
    }
  });

  test('every event of the ResponseStream union, with its members, is decoded', () => {
    const union = shapes.ResponseStream$!;
    assert.deepEqual([...union[4]].sort(), Object.keys(RESPONSE_STREAM_MEMBERS).sort());
    for (const event of union[4]) {
      const name = event === 'PayloadPart' ? 'PayloadPart' : event;
      assert.deepEqual([...members(name).keys()].sort(), [...RESPONSE_STREAM_MEMBERS[event]!].sort(), `${event}'s members`);
    }
  });
});

let emu: Emulator;
before(async () => {
  emu = await startEmulator({
    endpoints: {
      echo: { stream: { model: 'echo', partBytes: { min: 1, max: 5 } } },
      tgi: { stream: { model: 'tgi', tokens: 12, split: 'random' } },
      openai: { stream: { model: 'openai', tokens: 7 } },
      lmi: { stream: { model: 'lmi', tokens: 9, split: 'random' } },
    },
  });
});
after(() => emu.close());

/** The SDK's view of one call: the parts, then the error name (if any). */
async function sdkCall(endpoint: string, body: string): Promise<{ parts: Buffer[]; error?: string; contentType?: string }> {
  const client = new sdk.SageMakerRuntimeClient({
    endpoint: emu.url,
    region: 'us-east-1',
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    maxAttempts: 1,
  });
  const parts: Buffer[] = [];
  try {
    const res = await client.send(
      new sdk.InvokeEndpointWithResponseStreamCommand({ EndpointName: endpoint, Body: Buffer.from(body), ContentType: 'application/json' }),
    );
    const out: { parts: Buffer[]; contentType?: string } = { parts };
    if (res.ContentType !== undefined) out.contentType = res.ContentType;
    for await (const ev of res.Body!) if (ev.PayloadPart?.Bytes) parts.push(Buffer.from(ev.PayloadPart.Bytes));
    return out;
  } catch (err) {
    return { parts, error: (err as Error).name };
  } finally {
    client.destroy();
  }
}

async function ours(endpoint: string, body: string) {
  const r = await runCli(
    ['--endpoint-url', emu.url, '--endpoint-name', endpoint, '--stream', '--max-attempts', '1', '--content-type', 'application/json', '--envelope'],
    {
      input: `${JSON.stringify({ bodyBase64: Buffer.from(body).toString('base64') })}\n`,
      command: BINARY,
    },
  );
  return r.lines[0]!;
}

const SDK_ERRORS: Record<string, string[]> = {
  'model-stream-error': ['ModelStreamError'],
  'internal-stream-failure': ['InternalStreamFailure'],
};

describe('the SDK client and sm-invoke decode the same streams', () => {
  for (const endpoint of ['echo', 'tgi', 'openai', 'lmi']) {
    test(`${endpoint}: the same parts and bytes`, async () => {
      const body = JSON.stringify({ inputs: 'Ünïcode prompt 😀 with "quotes"', n: [1, 2.5] });
      emu.reset();
      const theirs = await sdkCall(endpoint, body);
      emu.reset();
      const mine = await ours(endpoint, body);
      assert.equal(theirs.error, undefined);
      assert.equal(mine.ok, true, JSON.stringify(mine));
      const whole = Buffer.concat(theirs.parts);
      assert.equal(mine.stream.parts, theirs.parts.length);
      assert.equal(mine.stream.bytes, whole.length);
      assert.equal(mine.contentType, theirs.contentType);
      const text = typeof mine.body === 'string' ? mine.body : JSON.stringify(mine.body);
      assert.equal(endpoint === 'echo' ? JSON.stringify(JSON.parse(whole.toString('utf8'))) : whole.toString('utf8'), text);
    });
  }

  for (const fault of ['model-stream-error', 'internal-stream-failure', 'error-message', 'cut', 'bad-crc']) {
    test(`${fault}: both fail after the same parts`, async () => {
      const body = JSON.stringify({ inputs: 'p', __emulator: { streamFault: { type: fault, afterParts: 4 } } });
      emu.reset();
      const theirs = await sdkCall('tgi', body);
      emu.reset();
      const mine = await ours('tgi', body);
      assert.ok(theirs.error !== undefined, `the SDK fails too (${fault})`);
      if (SDK_ERRORS[fault]) assert.ok(SDK_ERRORS[fault]!.includes(theirs.error!), theirs.error);
      assert.equal(mine.ok, false);
      assert.equal(mine.error.parts, theirs.parts.length);
      assert.equal(mine.error.bytes, Buffer.concat(theirs.parts).length);
    });
  }
});

describe("a stream the SDK's codec encoded", () => {
  test('is decoded part for part: every header type, messages together and cut apart, unknown events skipped', async () => {
    const utf8 = (b: Uint8Array) => Buffer.from(b).toString('utf8');
    const codec = new EventStreamCodec(utf8, (s) => Buffer.from(s));
    const part = (bytes: string) =>
      codec.encode({
        headers: {
          ':event-type': { type: 'string', value: 'PayloadPart' },
          ':content-type': { type: 'string', value: 'application/octet-stream' },
          ':message-type': { type: 'string', value: 'event' },
          flag: { type: 'boolean', value: true },
          byte: { type: 'byte', value: 7 },
          short: { type: 'short', value: 300 },
          int: { type: 'integer', value: 70000 },
          long: { type: 'long', value: Int64.fromNumber(2 ** 40) },
          bin: { type: 'binary', value: new Uint8Array([1, 2, 3]) },
          time: { type: 'timestamp', value: new Date(0) },
          id: { type: 'uuid', value: '123e4567-e89b-12d3-a456-426614174000' },
        },
        body: Buffer.from(bytes),
      });
    const unknown = codec.encode({
      headers: { ':event-type': { type: 'string', value: 'SomethingNew' }, ':message-type': { type: 'string', value: 'event' } },
      body: Buffer.from('ignored'),
    });
    const texts = ['{"a":', '"ü', '😀"', '}', ''];
    const all = Buffer.concat([part(texts[0]!), part(texts[1]!), unknown, part(texts[2]!), part(texts[3]!), part(texts[4]!)]);
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'application/vnd.amazon.eventstream', 'X-Amzn-SageMaker-Content-Type': 'application/json' });
        // Two messages and a half in one chunk, then the rest a few bytes at a time.
        const cut = part(texts[0]!).length + part(texts[1]!).length + 9;
        res.write(all.subarray(0, cut));
        let off = cut;
        const next = (): void => {
          if (off >= all.length) return void res.end();
          res.write(all.subarray(off, off + 7));
          off += 7;
          setImmediate(next);
        };
        next();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const r = await runCli(['--endpoint-url', url, '--endpoint-name', 'x', '--stream'], { input: 'q\n', command: BINARY });
      assert.equal(r.code, 0, r.stderr);
      const [res] = r.lines;
      assert.deepEqual(res!.body, { a: 'ü😀' });
      assert.deepEqual(res!.stream.parts, 5);
      assert.equal(res!.stream.bytes, Buffer.byteLength(texts.join('')));
    } finally {
      server.close();
    }
  });
});
