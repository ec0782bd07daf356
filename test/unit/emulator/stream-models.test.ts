// The emulator's stream models (pure): the real containers' wire shapes, table-driven over the
// documented examples' structure, the token counts they report, the timing, and echo's splits.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mulberry32 } from '../../../src/emulator/prng.js';
import { checkStreamSpec, planStream, type StreamSpec } from '../../../src/emulator/stream-models.js';
import { codecPart, encodePart } from '../../../src/emulator/stream.js';

const plan = (spec: StreamSpec, body: unknown, headers: Record<string, string> = {}) =>
  planStream(spec, { body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), headers, random: mulberry32(3) });
const text = (p: ReturnType<typeof plan>) => Buffer.concat(p.chunks.map((c) => c.bytes)).toString('utf8');

describe('token models', () => {
  test('TGI: data:{index, token{id,text,logprob,special}, generated_text, details} events; the last has generated_text and details', () => {
    const p = plan({ model: 'tgi', tokens: 99 }, { inputs: 'What is Deep Learning?', parameters: { max_new_tokens: 4 } });
    assert.equal(p.contentType, 'text/event-stream');
    assert.equal(p.completionTokens, 4, 'max_new_tokens wins over the configured count');
    assert.equal(p.promptTokens, 4);
    const events = text(p).split('\n\n').filter(Boolean);
    assert.equal(events.length, 4);
    const docs = events.map((e) => {
      assert.ok(e.startsWith('data:{'));
      return JSON.parse(e.slice(5));
    });
    docs.forEach((d, i) => {
      assert.equal(d.index, i + 1);
      assert.deepEqual(Object.keys(d.token), ['id', 'text', 'logprob', 'special']);
      if (i < 3) assert.deepEqual([d.generated_text, d.details], [null, null]);
    });
    assert.equal(docs[3].generated_text, p.text);
    assert.deepEqual(docs[3].details, { finish_reason: 'length', generated_tokens: 4, seed: null });
    assert.equal(docs.map((d) => d.token.text).join(''), p.text);
  });

  test('OpenAI: chat.completion.chunk deltas, a finish_reason chunk, a usage chunk, data: [DONE]', () => {
    const p = plan(
      { model: 'openai', tokens: 3 },
      {
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'hi there' },
        ],
      },
    );
    const events = text(p).split('\n\n').filter(Boolean);
    assert.equal(events.at(-1), 'data: [DONE]');
    const docs = events.slice(0, -1).map((e) => JSON.parse(e.slice('data: '.length)));
    assert.ok(docs.every((d) => d.object === 'chat.completion.chunk'));
    assert.equal(docs[0].choices[0].delta.role, 'assistant');
    assert.equal(
      docs
        .slice(0, 3)
        .map((d) => d.choices[0].delta.content)
        .join(''),
      p.text,
    );
    assert.equal(docs[3].choices[0].finish_reason, 'length');
    assert.deepEqual(docs[4].choices, []);
    assert.deepEqual(docs[4].usage, { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 });
  });

  test('LMI: JSON lines of {token{id,text,log_prob}}, the last with generated_text and details', () => {
    const p = plan({ model: 'lmi', tokens: 3 }, { inputs: 'q' });
    assert.equal(p.contentType, 'application/jsonlines');
    const rows = text(p)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(rows.length, 3);
    assert.deepEqual(Object.keys(rows[0].token), ['id', 'text', 'log_prob']);
    assert.deepEqual(rows[2].details, { finish_reason: 'length', generated_tokens: 3, inputs: 'q' });
    assert.equal(rows[2].generated_text, p.text);
  });

  test('delays: the first token, then the inter-token delay, each within the jitter', () => {
    const p = plan({ model: 'tgi', tokens: 20, firstTokenMs: 200, interTokenMs: 20, jitterMs: 5 }, { inputs: 'q' });
    assert.ok(Math.abs(p.chunks[0]!.delayMs - 200) <= 5);
    for (const c of p.chunks.slice(1)) assert.ok(c.delayMs >= 15 && c.delayMs <= 25, String(c.delayMs));
    const exact = plan({ model: 'tgi', tokens: 3, firstTokenMs: 200, interTokenMs: 20 }, { inputs: 'q' });
    assert.deepEqual(
      exact.chunks.map((c) => c.delayMs),
      [200, 20, 20],
    );
  });

  test('split "random" cuts events into 1-3 parts, back to back, same bytes', () => {
    const whole = plan({ model: 'lmi', tokens: 30 }, { inputs: 'q' });
    const cut = plan({ model: 'lmi', tokens: 30, split: 'random' }, { inputs: 'q' });
    assert.equal(text(cut), text(whole));
    assert.ok(cut.chunks.length > whole.chunks.length);
  });
});

describe('echo', () => {
  test('the body back at arbitrary byte boundaries, inside UTF-8 characters too', () => {
    const body = '{"k":"ü😀€ and more ✓ text"}'.repeat(20);
    const p = plan({ model: 'echo', partBytes: { min: 1, max: 4 } }, body, { 'content-type': 'application/json' });
    assert.equal(text(p), body);
    assert.equal(p.contentType, 'application/json');
    const cutsInside = p.chunks.filter(
      (c) =>
        !Buffer.from(c.bytes)
          .toString('utf8')
          .split('')
          .every((ch) => ch !== '\ufffd'),
    ).length;
    assert.ok(cutsInside > 0, 'some parts end inside a character');
  });

  test('a large body goes in a few thousand parts, not one per 64 bytes', () => {
    const p = plan({ model: 'echo' }, 'x'.repeat(5 * 1024 * 1024));
    assert.ok(p.chunks.length < 9000 && p.chunks.length > 1000, String(p.chunks.length));
  });
});

test('checkStreamSpec names the bad field', () => {
  assert.equal(checkStreamSpec({ model: 'tgi', tokens: 5 }, 's'), undefined);
  assert.match(checkStreamSpec({ model: 'gpt' }, 's')!, /s.model must be one of echo, tgi, openai, lmi/);
  assert.match(checkStreamSpec({ tokens: 1.5 }, 's')!, /s.tokens must be an integer/);
  assert.match(checkStreamSpec({ partBytes: { min: 0, max: 2 } }, 's')!, /s.partBytes/);
  assert.match(checkStreamSpec({ split: 'x' }, 's')!, /s.split/);
});

test("the emulator's part encoding is the codec's, byte for byte", () => {
  for (const body of ['', 'x', 'ü😀 data:{"a":1}\n\n', 'y'.repeat(70_000)]) assert.deepEqual(encodePart(Buffer.from(body)), codecPart(Buffer.from(body)));
});
