// Pure pieces of response streaming: the decoder over the SDK's codec (parts at every split, CRCs,
// truncation, exception and error events, unknown events), what makes a record a streaming request,
// the retry class of each stream failure, and the stream bytes counted by the ordered map's bound.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MessageHeaders } from '@smithy/types';
import { EventStreamDecoder, encodeMessage, type StreamProblem } from '../../../src/aws/event-stream.js';
import { orderedMap } from '../../../src/core/ordered-map.js';
import type { GoodRecord } from '../../../src/core/records.js';
import { buildRequest, parseTarget } from '../../../src/core/request.js';
import { streamFailureKind } from '../../../src/core/stream-invoke.js';
import { refuseForStream, streamRefusal } from '../../../src/core/stream-request.js';
import { mulberry32 } from '../../../src/emulator/prng.js';
import { StreamFailure } from '../../../src/wire.js';

const s = (value: string) => ({ type: 'string' as const, value });
const part = (text: string | Buffer): Buffer =>
  Buffer.from(
    encodeMessage({ ':event-type': s('PayloadPart'), ':content-type': s('application/octet-stream'), ':message-type': s('event') }, Buffer.from(text)),
  );
const message = (headers: MessageHeaders, body = ''): Buffer => Buffer.from(encodeMessage(headers, Buffer.from(body)));

/** Feeds `bytes` in the given chunk sizes; the parts decoded and the problem, if any. */
async function decode(bytes: Buffer, sizes: () => number): Promise<{ parts: string[]; at: number[]; problem?: StreamProblem }> {
  const parts: string[] = [];
  const at: number[] = [];
  const d = new EventStreamDecoder((b, t) => {
    parts.push(Buffer.from(b).toString('latin1'));
    at.push(t);
  });
  let n = 0;
  for (let off = 0; off < bytes.length; n++) {
    const k = Math.max(1, sizes());
    d.push(bytes.subarray(off, off + k), n);
    off += k;
    await new Promise((r) => setImmediate(r));
  }
  try {
    await d.end();
    return { parts, at };
  } catch (err) {
    return { parts, at, problem: err as StreamProblem };
  }
}

describe('EventStreamDecoder', () => {
  const texts = ['{"a":', '"\u00fc\ud83d\ude00', '"}', '', 'x'.repeat(70_000)];
  const stream = Buffer.concat(texts.map((t) => part(t)));
  for (const [name, sizes] of [
    ['one byte at a time', () => 1],
    ['whole', () => stream.length],
    [
      'random cuts',
      (() => {
        const r = mulberry32(7);
        return () => 1 + Math.floor(r() * 40);
      })(),
    ],
  ] as const) {
    test(`parts come out whole and in order: ${name}`, async () => {
      const { parts, problem } = await decode(stream, sizes);
      assert.equal(problem, undefined);
      assert.deepEqual(
        parts,
        texts.map((t) => Buffer.from(t).toString('latin1')),
      );
    });
  }

  test("a part's time is its last chunk's", async () => {
    const one = part('hello');
    const { at } = await decode(Buffer.concat([one, one]), () => 7);
    // 5 + 16 + headers bytes: the first part completes in a later chunk than the first.
    assert.ok(at[0]! > 0 && at[1]! > at[0]!);
  });

  test('a flipped bit: the message CRC; a flipped prelude: the prelude CRC', async () => {
    const bad = part('payload');
    bad[bad.length - 6]! ^= 1;
    const r = await decode(Buffer.concat([part('ok'), bad, part('never')]), () => 5);
    assert.deepEqual(r.parts, ['ok']);
    assert.equal(r.problem?.kind, 'crc');
    const badPrelude = part('payload');
    badPrelude[8]! ^= 1;
    assert.equal((await decode(badPrelude, () => 3)).problem?.kind, 'crc');
  });

  test('a corrupt length prelude (16 MiB more) waits for bytes that never come: truncated, not a crash', async () => {
    const bad = part('payload');
    bad[1]! ^= 1;
    const r = await decode(Buffer.concat([part('a'), bad]), () => 11);
    assert.deepEqual(r.parts, ['a']);
    assert.equal(r.problem?.kind, 'truncated');
  });

  test('the body ending inside a message is truncated', async () => {
    const whole = part('payload');
    const r = await decode(Buffer.concat([part('a'), whole.subarray(0, whole.length - 3)]), () => 4);
    assert.deepEqual(r.parts, ['a']);
    assert.equal(r.problem?.kind, 'truncated');
  });

  test('exceptions carry their type, Message and ErrorCode; error messages their headers', async () => {
    const mse = message(
      { ':message-type': s('exception'), ':exception-type': s('ModelStreamError'), ':content-type': s('application/json') },
      '{"Message":"too slow","ErrorCode":"ModelInvocationTimeExceeded"}',
    );
    const r = await decode(Buffer.concat([part('a'), mse]), () => 9);
    assert.deepEqual(
      [r.problem?.kind, r.problem?.code, r.problem?.message, r.problem?.errorCode],
      ['exception', 'ModelStreamError', 'too slow', 'ModelInvocationTimeExceeded'],
    );
    const isf = message({ ':message-type': s('exception'), ':exception-type': s('InternalStreamFailure') }, 'not json');
    assert.deepEqual([(await decode(isf, () => 100)).problem?.code, (await decode(isf, () => 100)).problem?.message], ['InternalStreamFailure', 'not json']);
    const err = message({ ':message-type': s('error'), ':error-code': s('Boom'), ':error-message': s('it broke') });
    const e = (await decode(err, () => 100)).problem!;
    assert.deepEqual([e.kind, e.code, e.message], ['error', 'Boom', 'it broke']);
  });

  test('unknown event types are skipped; an unknown message type is invalid', async () => {
    const other = message({ ':message-type': s('event'), ':event-type': s('Future') }, 'x');
    assert.deepEqual((await decode(Buffer.concat([other, part('p')]), () => 100)).parts, ['p']);
    const odd = message({ ':message-type': s('weird') });
    assert.equal((await decode(odd, () => 100)).problem?.kind, 'invalid');
  });
});

describe('the streaming request', () => {
  const target = parseTarget('https://runtime.sagemaker.us-east-1.amazonaws.com');
  const rec = (fields: GoodRecord['fields'], stream = true): GoodRecord => ({
    line: 1,
    fields: { endpointName: 'ep', ...fields },
    body: Buffer.from('x'),
    stream,
  });

  test('its path and X-Amzn-SageMaker-Accept; PrefixAwareId on both operations', () => {
    const r = buildRequest(rec({ accept: 'application/json', contentType: 'text/plain', prefixAwareId: 'p' }), target);
    assert.equal(r.path, '/endpoints/ep/invocations-response-stream');
    assert.equal(r.headers['x-amzn-sagemaker-accept'], 'application/json');
    assert.equal(r.headers.accept, undefined);
    assert.equal(r.headers['x-amzn-sagemaker-prefix-aware-id'], 'p');
    const plain = buildRequest(rec({ accept: 'application/json', prefixAwareId: 'p' }, false), target);
    assert.equal(plain.path, '/endpoints/ep/invocations');
    assert.equal(plain.headers.accept, 'application/json');
    assert.equal(plain.headers['x-amzn-sagemaker-prefix-aware-id'], 'p');
  });

  test('TargetModel, EnableExplanations and NEW_SESSION are refused, naming the rule; an existing session is not', () => {
    assert.equal(streamRefusal({ targetModel: 'm' })?.field, 'targetModel');
    assert.equal(streamRefusal({ enableExplanations: '`true`' })?.field, 'enableExplanations');
    assert.match(streamRefusal({ sessionId: 'NEW_SESSION' })!.message, /only InvokeEndpoint opens a session/);
    assert.equal(streamRefusal({ sessionId: 'abc-123' }), undefined);
    const bad = refuseForStream({ ...rec({ targetModel: 'm', inferenceId: 'id-1' }), meta: '{"k":1}' });
    assert.deepEqual(
      [bad.error?.code, bad.error?.field, (bad as { inferenceId?: string }).inferenceId, bad.meta],
      ['InvalidRecord', 'targetModel', 'id-1', '{"k":1}'],
    );
  });
});

describe('retry classes', () => {
  const f = (retry: StreamFailure['retry']) => new StreamFailure({ code: 'X', message: 'x' }, retry);
  test('transient retries; model only with --retry-model-errors; final never', () => {
    assert.equal(streamFailureKind(f('transient'), false), 'transient');
    assert.equal(streamFailureKind(f('model'), false), 'final');
    assert.equal(streamFailureKind(f('model'), true), 'transient');
    assert.equal(streamFailureKind(f('final'), true), 'final');
  });
});

describe("the ordered map counts bytes held outside the items' own sizes (streams being received)", () => {
  test('no new item starts while the extra bytes fill the bound; it does once they are let go', async () => {
    let extra = 0;
    const started: number[] = [];
    const gates: Array<() => void> = [];
    const source = (async function* () {
      for (let i = 0; i < 3; i++) yield i;
    })();
    const it = orderedMap(
      source,
      (i: number) => {
        started.push(i);
        if (i === 0) extra = 2000; // the first stream receives a lot
        return new Promise<number>((resolve) => gates.push(() => resolve(i)));
      },
      { concurrency: 3, maxBytes: 1000, itemBytes: () => 10, resultBytes: () => 10, extraBytes: () => extra },
    );
    const first = it.next();
    for (let k = 0; k < 5; k++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, [0], 'item 1 waits while the stream holds 2000 bytes');
    extra = 0;
    gates[0]!();
    assert.equal((await first).value, 0);
    for (let k = 0; k < 5; k++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, [0, 1, 2]);
    gates[1]!();
    gates[2]!();
    for await (const _ of it) void _;
  });
});
