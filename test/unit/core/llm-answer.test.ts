// core/llm: the answer shapes as pure functions over bytes. Unstreamed bodies from the containers'
// documentation (TGI, LMI's schema page, OpenAI's API reference), streamed bodies fed in every
// split (each byte alone, every two-part cut, many events in one part, UTF-8 cut), the LMI error
// token, auto on each shape and on an unknown one, and the timing read from the parts' arrival.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readAnswer } from '../../../src/core/llm/answer.js';
import { StreamParser } from '../../../src/core/llm/stream-parser.js';
import { tokenTiming } from '../../../src/core/llm/timing.js';
import type { LlmSchema } from '../../../src/core/llm/types.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

interface Whole {
  name: string;
  schema: LlmSchema;
  body: string;
  want?: { schema?: string; text: string | null; finishReason: string | null; inputTokens: number | null; outputTokens: number | null; tokensExact: boolean };
  error?: RegExp;
}

const OPENAI_CHAT =
  '{"id":"chatcmpl-123","object":"chat.completion","created":1677652288,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"message":{"role":"assistant","content":"\\n\\nHello there, how may I assist you today?"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21}}';
const TGI_LIST =
  '[{"generated_text":"Deep Learning is a really cool field","details":{"finish_reason":"length","generated_tokens":8,"seed":null,"prefill":[],"tokens":[]}}]';
const LMI_OBJECT =
  '{"generated_text":"Deep Learning is a really cool field","details":{"finish_reason":"length","generated_tokens":8,"inputs":"What is Deep Learning?","tokens":[]}}';

const WHOLE: Whole[] = [
  {
    name: 'TGI list with details',
    schema: 'tgi',
    body: TGI_LIST,
    want: { schema: 'tgi', text: 'Deep Learning is a really cool field', finishReason: 'length', inputTokens: null, outputTokens: 8, tokensExact: true },
  },
  {
    name: 'TGI without details: no count, not exact',
    schema: 'tgi',
    body: '[{"generated_text":"hi"}]',
    want: { text: 'hi', finishReason: null, inputTokens: null, outputTokens: null, tokensExact: false },
  },
  {
    name: 'TGI with decoder_input_details: prefill counts the prompt',
    schema: 'tgi',
    body: '[{"generated_text":"x","details":{"finish_reason":"eos_token","generated_tokens":1,"prefill":[{"id":1,"text":"<s>"},{"id":2,"text":"Hi"}],"tokens":[]}}]',
    want: { text: 'x', finishReason: 'eos_token', inputTokens: 2, outputTokens: 1, tokensExact: true },
  },
  {
    name: 'LMI object with details',
    schema: 'lmi',
    body: LMI_OBJECT,
    want: { schema: 'lmi', text: 'Deep Learning is a really cool field', finishReason: 'length', inputTokens: null, outputTokens: 8, tokensExact: true },
  },
  {
    name: 'LMI error answer (finish_reason error)',
    schema: 'lmi',
    body: '{"generated_text":"","details":{"finish_reason":"error","generated_tokens":null,"inputs":null,"tokens":null}}',
    error: /^LlmError: .*finish_reason "error"/,
  },
  {
    name: 'OpenAI chat completion',
    schema: 'openai',
    body: OPENAI_CHAT,
    want: { schema: 'openai', text: '\n\nHello there, how may I assist you today?', finishReason: 'stop', inputTokens: 9, outputTokens: 12, tokensExact: true },
  },
  {
    name: 'OpenAI text completion',
    schema: 'openai',
    body: '{"id":"cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7","object":"text_completion","created":1589478378,"model":"gpt-3.5-turbo-instruct","choices":[{"text":"\\n\\nThis is indeed a test","index":0,"logprobs":null,"finish_reason":"length"}],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}',
    want: { text: '\n\nThis is indeed a test', finishReason: 'length', inputTokens: 5, outputTokens: 7, tokensExact: true },
  },
  {
    name: 'OpenAI embeddings: no text, prompt tokens only',
    schema: 'openai',
    body: '{"object":"list","data":[{"object":"embedding","embedding":[0.0023064255,-0.009327292],"index":0}],"model":"text-embedding-ada-002","usage":{"prompt_tokens":8,"total_tokens":8}}',
    want: { text: null, finishReason: null, inputTokens: 8, outputTokens: null, tokensExact: false },
  },
  {
    name: "vLLM's error object in a 2xx answer",
    schema: 'openai',
    body: '{"object":"error","message":"max_tokens must be at least 1","type":"BadRequestError","param":null,"code":400}',
    error: /^LlmError: .*max_tokens must be at least 1/,
  },
  {
    name: 'auto: TGI',
    schema: 'auto',
    body: TGI_LIST,
    want: { schema: 'tgi', text: 'Deep Learning is a really cool field', finishReason: 'length', inputTokens: null, outputTokens: 8, tokensExact: true },
  },
  {
    name: 'auto: LMI',
    schema: 'auto',
    body: LMI_OBJECT,
    want: { schema: 'lmi', text: 'Deep Learning is a really cool field', finishReason: 'length', inputTokens: null, outputTokens: 8, tokensExact: true },
  },
  {
    name: 'auto: OpenAI',
    schema: 'auto',
    body: OPENAI_CHAT,
    want: { schema: 'openai', text: '\n\nHello there, how may I assist you today?', finishReason: 'stop', inputTokens: 9, outputTokens: 12, tokensExact: true },
  },
  {
    name: 'auto: an unknown shape is a clear error',
    schema: 'auto',
    body: '{"predictions":[0.1,0.9]}',
    error: /^LlmShapeError: not a TGI, LMI or OpenAI answer: no generated_text, choices/,
  },
  { name: 'tgi asked, OpenAI answered', schema: 'tgi', body: OPENAI_CHAT, error: /^LlmShapeError: --llm tgi: expected TGI's answer, got an OpenAI/ },
  {
    name: 'openai asked, TGI answered',
    schema: 'openai',
    body: TGI_LIST,
    error: /^LlmShapeError: --llm openai: expected OpenAI chat\/completions's answer, got a TGI\/LMI/,
  },
  { name: 'not JSON', schema: 'tgi', body: 'Deep Learning is', error: /^LlmShapeError: not --llm tgi's answer: the answer is not JSON/ },
  { name: 'an empty list', schema: 'auto', body: '[]', error: /^LlmShapeError: .*empty list/ },
];

for (const c of WHOLE) {
  test(`unstreamed: ${c.name}`, () => {
    const out = readAnswer(b(c.body), c.schema);
    if (c.error) {
      assert.equal(out.ok, false);
      if (!out.ok) assert.match(`${out.problem.code}: ${out.problem.message}`, c.error);
      return;
    }
    assert.equal(out.ok, true, out.ok ? '' : out.problem.message);
    const { schema, ...figures } = out.ok ? out.reading : ({} as never);
    const { schema: wantSchema, ...want } = c.want!;
    assert.deepEqual(figures, want);
    if (wantSchema !== undefined) assert.equal(schema, wantSchema);
  });
}

interface Streamed {
  name: string;
  schema: LlmSchema;
  body: string;
  want: { text: string | null; finishReason: string | null; inputTokens: number | null; outputTokens: number | null; tokensExact: boolean; tokens: number };
  error?: RegExp;
}

// TGI's /generate_stream (SSE, `data:` without a space), the last event with generated_text and details.
const TGI_SSE =
  'data:{"index":1,"token":{"id":304,"text":"Deep","logprob":-0.05,"special":false},"generated_text":null,"details":null}\n\n' +
  'data:{"index":2,"token":{"id":11157,"text":" Lé","logprob":-1.2,"special":false},"generated_text":null,"details":null}\n\n' +
  ': keep-alive\n\n' +
  'data:{"index":3,"token":{"id":2,"text":"</s>","logprob":-0.1,"special":true},"generated_text":"Deep Lé","details":{"finish_reason":"eos_token","generated_tokens":3,"seed":null}}\n\n';
// OpenAI chat.completion.chunk events: a role-only chunk (no token), content deltas, the finish chunk, usage, [DONE].
const OPENAI_SSE = [
  '{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}',
  '{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}]}',
  '{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":" wörld 😀"},"logprobs":null,"finish_reason":null}]}',
  '{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}',
  '{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}',
  '[DONE]',
]
  .map((e) => `data: ${e}\r\n\r\n`)
  .join('');
// LMI's rolling-batch JSON lines, from its schema page.
const LMI_LINES =
  '{"token": {"id": 304, "text": "Deep ", "log_prob": -0.052432529628276825}}\n' +
  '{"token": {"id": 11157, "text": " Learning", "log_prob": -1.2865009307861328}}\n' +
  '{"token": {"id": 5972, "text": " field.", "log_prob": -0.6950479745864868}, "generated_text": "Deep  Learning field.", "details": {"finish_reason": "length", "generated_tokens": 3, "inputs": "What is Deep Learning?"}}\n';
const LMI_ERROR =
  '{"token": {"id": 304, "text": "Deep ", "log_prob": -0.05}}\n' +
  '{"token": {"id": -1, "text": "", "log_prob": -1, "special_token": true}, "generated_text": "", "details": {"finish_reason": "error", "generated_tokens": null, "inputs": null}}\n';

const STREAMED: Streamed[] = [
  {
    name: 'TGI SSE',
    schema: 'tgi',
    body: TGI_SSE,
    want: { text: 'Deep Lé', finishReason: 'eos_token', inputTokens: null, outputTokens: 3, tokensExact: true, tokens: 3 },
  },
  {
    name: 'OpenAI chunks with usage',
    schema: 'openai',
    body: OPENAI_SSE,
    want: { text: 'Hello wörld 😀', finishReason: 'stop', inputTokens: 9, outputTokens: 2, tokensExact: true, tokens: 2 },
  },
  {
    name: 'OpenAI chunks without usage: chunks are not tokens, no count',
    schema: 'openai',
    body: OPENAI_SSE.replace(/data: \{[^\n]*"usage"[^\n]*\r\n\r\n/, ''),
    want: { text: 'Hello wörld 😀', finishReason: 'stop', inputTokens: null, outputTokens: null, tokensExact: false, tokens: 2 },
  },
  {
    name: 'LMI JSON lines',
    schema: 'lmi',
    body: LMI_LINES,
    want: { text: 'Deep  Learning field.', finishReason: 'length', inputTokens: null, outputTokens: 3, tokensExact: true, tokens: 3 },
  },
  {
    name: 'LMI JSON lines without details: token events counted',
    schema: 'lmi',
    body: '{"token":{"id":1,"text":"a"}}\n{"token":{"id":2,"text":"b"}}',
    want: { text: 'ab', finishReason: null, inputTokens: null, outputTokens: 2, tokensExact: true, tokens: 2 },
  },
  {
    name: "LMI's sse formatter (data: lines, no blank line)",
    schema: 'lmi',
    body: LMI_LINES.split('\n')
      .filter((l) => l !== '')
      .map((l) => `data:${l}\n`)
      .join(''),
    want: { text: 'Deep  Learning field.', finishReason: 'length', inputTokens: null, outputTokens: 3, tokensExact: true, tokens: 3 },
  },
  {
    name: 'auto: TGI',
    schema: 'auto',
    body: TGI_SSE,
    want: { text: 'Deep Lé', finishReason: 'eos_token', inputTokens: null, outputTokens: 3, tokensExact: true, tokens: 3 },
  },
  {
    name: 'auto: OpenAI',
    schema: 'auto',
    body: OPENAI_SSE,
    want: { text: 'Hello wörld 😀', finishReason: 'stop', inputTokens: 9, outputTokens: 2, tokensExact: true, tokens: 2 },
  },
  {
    name: 'auto: LMI',
    schema: 'auto',
    body: LMI_LINES,
    want: { text: 'Deep  Learning field.', finishReason: 'length', inputTokens: null, outputTokens: 3, tokensExact: true, tokens: 3 },
  },
  {
    name: 'a 200 stream ending in an LMI error token',
    schema: 'lmi',
    body: LMI_ERROR,
    want: { text: 'Deep ', finishReason: 'error', inputTokens: null, outputTokens: 1, tokensExact: true, tokens: 1 },
    error: /^LlmError: the container reported an error during generation/,
  },
  {
    name: "TGI's error event",
    schema: 'tgi',
    body: `${TGI_SSE.split('\n\n')[0]}\n\ndata:{"error":"Request failed during generation: Server error: CUDA out of memory","error_type":"generation"}\n\n`,
    want: { text: 'Deep', finishReason: null, inputTokens: null, outputTokens: 1, tokensExact: true, tokens: 1 },
    error: /^LlmError: .*CUDA out of memory/,
  },
  {
    name: 'auto: an unknown stream is a clear error',
    schema: 'auto',
    body: 'data: {"outputs_x":1}\n\n',
    want: { text: null, finishReason: null, inputTokens: null, outputTokens: null, tokensExact: false, tokens: 0 },
    error: /^LlmShapeError: not a TGI, LMI or OpenAI stream: event 1 has no token/,
  },
  {
    name: 'tgi asked, OpenAI streamed',
    schema: 'tgi',
    body: OPENAI_SSE,
    want: { text: 'Hello wörld 😀', finishReason: 'stop', inputTokens: 9, outputTokens: 2, tokensExact: true, tokens: 2 },
    error: /^LlmShapeError: --llm tgi: expected/,
  },
];

/** Feeds `parts` in order, part i arriving at 10*(i+1) ms. */
function feed(schema: LlmSchema, parts: Buffer[]) {
  const p = new StreamParser(schema);
  parts.forEach((part, i) => {
    p.push(part, 10 * (i + 1));
  });
  return { parser: p, ...p.end(1000) };
}

/** The same parts read whole, with each part's end and arrival (what --llm does): the same reading. */
function feedWhole(schema: LlmSchema, parts: Buffer[]) {
  const p = new StreamParser(schema);
  const ends: number[] = [];
  const times: number[] = [];
  let at = 0;
  parts.forEach((part, i) => {
    at += part.length;
    ends.push(at);
    times.push(10 * (i + 1));
  });
  p.pushWhole(Buffer.concat(parts), ends, times);
  return { parser: p, ...p.end(1000) };
}

function check(c: Streamed, parts: Buffer[], how: string): void {
  const { parser, outcome, info } = feed(c.schema, parts);
  const whole = feedWhole(c.schema, parts);
  assert.deepEqual(whole.outcome, outcome, `${c.name}, ${how}: read whole`);
  assert.deepEqual(whole.info, info, `${c.name}, ${how}: read whole`);
  assert.deepEqual(whole.parser.tokenTimes, parser.tokenTimes, `${c.name}, ${how}: read whole`);
  const where = `${c.name}, ${how}`;
  if (c.error) {
    assert.equal(outcome.ok, false, where);
    if (!outcome.ok) assert.match(`${outcome.problem.code}: ${outcome.problem.message}`, c.error, where);
  } else assert.equal(outcome.ok, true, `${where}: ${outcome.ok ? '' : outcome.problem.message}`);
  const { tokens, ...want } = c.want;
  if (info !== undefined) {
    const got = {
      text: info.text,
      finishReason: info.finishReason,
      inputTokens: info.inputTokens,
      outputTokens: info.outputTokens,
      tokensExact: info.tokensExact,
    };
    assert.deepEqual(got, want, where);
  }
  assert.equal(parser.tokenTimes.length, tokens, where);
}

for (const c of STREAMED) {
  test(`streamed: ${c.name}, in every split`, () => {
    const body = b(c.body);
    check(c, [body], 'one part');
    check(
      c,
      [...body].map((x) => Buffer.from([x])),
      'one byte a part',
    );
    for (let cut = 1; cut < body.length; cut++) check(c, [body.subarray(0, cut), body.subarray(cut)], `cut at byte ${cut}`);
    // Seeded random cuts, 1 to 40 bytes a part.
    let seed = 7;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let round = 0; round < 50; round++) {
      const parts: Buffer[] = [];
      for (let off = 0; off < body.length; ) {
        const n = 1 + Math.floor(rnd() * 40);
        parts.push(body.subarray(off, off + n));
        off += n;
      }
      check(c, parts, `random round ${round}`);
    }
  });
}

test('streamed: the token clock is the arrival of the part that completes a token event, not the first byte', () => {
  // Part 1 (10 ms): an SSE comment and the role-only chunk; part 2 (20 ms): half of token 1; part 3 (30 ms): its end and all of token 2.
  const events = OPENAI_SSE.split('\r\n\r\n');
  const role = `: hello\n\ndata: ${events[0]!.slice(6)}\n\n`;
  const t1 = `${events[1]}\r\n\r\n`;
  const rest = `${events[2]}\r\n\r\n${events.slice(3).join('\r\n\r\n')}`;
  const { outcome, info } = feed('openai', [b(role), b(t1.slice(0, 40)), b(t1.slice(40) + rest)]);
  assert.equal(outcome.ok, true);
  assert.equal(info!.ttftMs, 30);
  assert.deepEqual(info!.itlMs, { mean: 0, p50: 0, max: 0 });
  assert.equal(info!.tokensPerSecond, 2); // 2 tokens over the 1000 ms end to end
});

test('streamed: TTFT, ITL mean/median/max from token arrivals; tokens per second over end to end', () => {
  const lines = Array.from({ length: 5 }, (_, i) => `{"token":{"id":${i},"text":"t${i}"}}\n`);
  const p = new StreamParser('lmi');
  [200, 220, 250, 260, 300].forEach((at, i) => {
    p.push(b(lines[i]!), at);
  });
  const { info } = p.end(400);
  assert.equal(info!.ttftMs, 200);
  assert.deepEqual(info!.itlMs, { mean: 25, p50: 25, max: 40 });
  assert.equal(info!.outputTokens, 5);
  assert.equal(info!.tokensPerSecond, 12.5);
});

test('timing: one token has no inter-token latency; unknown tokens have no rate', () => {
  assert.deepEqual(tokenTiming([12.34], 1, 100), { ttftMs: 12.3, itlMs: null, tokensPerSecond: 10 });
  assert.deepEqual(tokenTiming([], null, 100), { ttftMs: null, itlMs: null, tokensPerSecond: null });
});

test('streamed: an empty stream and a stream of non-JSON are shape errors', () => {
  assert.match(feed('tgi', []).outcome.ok ? '' : (feed('tgi', []).outcome as { problem: { message: string } }).problem.message, /held no event/);
  const bad = feed('tgi', [b('data: not json\n\n')]).outcome;
  assert.equal(bad.ok, false);
  if (!bad.ok) assert.match(bad.problem.message, /event 1 is not JSON/);
});

test("stats: percentiles of TTFT, ITL (each record's mean) and end to end; totals exact or flagged", async () => {
  const { LlmStats, formatLlmStats } = await import('../../../src/core/llm/llm-stats.js');
  const s = new LlmStats();
  const info = (ttft: number | null, out: number | null, inTok: number | null) => ({
    text: 'x',
    finishReason: 'length',
    inputTokens: inTok,
    outputTokens: out,
    tokensExact: out !== null,
    ttftMs: ttft,
    itlMs: ttft === null ? null : { mean: 20, p50: 20, max: 30 },
    tokensPerSecond: null,
  });
  for (let i = 1; i <= 100; i++) s.add(info(200 + i, 50, i === 100 ? null : 10), 1000 + i);
  s.add(info(null, null, null), 5);
  const snap = s.snapshot(10_000);
  assert.equal(snap.records, 101);
  assert.equal(snap.outputTokens, 5000);
  assert.equal(snap.outputTokensExact, false);
  assert.equal(snap.recordsWithoutOutputTokens, 1);
  assert.equal(snap.inputTokens, 990);
  assert.equal(snap.recordsWithoutInputTokens, 2);
  assert.equal(snap.outputTokensPerSecond, 500);
  // Log buckets: within about 2% of the exact percentile.
  assert.ok(Math.abs(snap.ttftMs.p50! - 250) <= 5, String(snap.ttftMs.p50));
  assert.ok(Math.abs(snap.ttftMs.p99! - 299) <= 6, String(snap.ttftMs.p99));
  assert.ok(Math.abs(snap.itlMs.p50! - 20) <= 0.5);
  const text = formatLlmStats(snap).join('\n');
  assert.match(text, /llm: 101 answers read/);
  assert.match(text, /tokens: 990 \(2 records without a count\) in, 5000 \(1 records without a count\) out, 500 output tokens\/s/);
});
