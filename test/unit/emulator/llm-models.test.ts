// The emulator's LLM containers for InvokeEndpoint (pure): each schema's unstreamed shape with the
// token counts in its own fields, the generation time of the token model with the prompt's cost,
// a streamed request answered whole, and the error inside a 200 stream; read back by sm-invoke's
// own answer parsers, so that emulator and client agree on every figure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readAnswer } from '../../../src/core/llm/answer.js';
import { StreamParser } from '../../../src/core/llm/stream-parser.js';
import { llmLatencyMs, runLlmModel } from '../../../src/emulator/llm-models.js';
import { mulberry32 } from '../../../src/emulator/prng.js';
import { planStream } from '../../../src/emulator/stream-models.js';

const req = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const SPEC = { tokens: 9, firstTokenMs: 100, interTokenMs: 10, promptTokenMs: 2 };

const CASES = [
  { model: 'tgi', body: { inputs: 'one two three', parameters: { max_new_tokens: 5, details: true } }, schema: 'tgi', input: null, output: 5 },
  { model: 'tgi', body: { inputs: 'one two three', parameters: { max_new_tokens: 5 } }, schema: 'tgi', input: null, output: null },
  { model: 'lmi', body: { inputs: 'one two', parameters: { details: true } }, schema: 'lmi', input: null, output: 9 },
  { model: 'openai', body: { messages: [{ role: 'user', content: 'a b c d' }], max_tokens: 3 }, schema: 'openai', input: 4, output: 3 },
  { model: 'openai', body: { prompt: 'a b', max_tokens: 2 }, schema: 'openai', input: 2, output: 2 },
  { model: 'openai', body: { input: 'x y z' }, schema: 'openai', input: 3, output: null },
] as const;

for (const c of CASES) {
  test(`${c.model} ${JSON.stringify(c.body)}: its shape, its counts, read back`, () => {
    const a = runLlmModel(c.model, req(c.body), {}, SPEC, mulberry32(1));
    assert.equal(a.contentType, 'application/json');
    const out = readAnswer(a.body, 'auto');
    assert.equal(out.ok, true, out.ok ? '' : out.problem.message);
    if (!out.ok) return;
    assert.equal(out.reading.schema, c.schema);
    assert.equal(out.reading.inputTokens, c.input);
    assert.equal(out.reading.outputTokens, c.output);
    if (c.output !== null) assert.equal(out.reading.outputTokens, a.completionTokens);
  });
}

test('the generation time: first token + the prompt cost + one interval per further token', () => {
  assert.equal(llmLatencyMs(SPEC, req({ inputs: 'one two three', parameters: { max_new_tokens: 5 } })), 100 + 3 * 2 + 4 * 10);
  assert.equal(llmLatencyMs(SPEC, req({ input: 'a b' })), 100 + 2 * 2);
});

test('"stream": true over InvokeEndpoint: the whole event stream in one body', () => {
  const a = runLlmModel('lmi', req({ inputs: 'q', parameters: { max_new_tokens: 4 }, stream: true }), {}, SPEC, mulberry32(1));
  assert.equal(a.contentType, 'application/jsonlines');
  assert.equal(a.body.toString().trim().split('\n').length, 4);
});

for (const model of ['tgi', 'lmi', 'openai'] as const) {
  test(`${model}: errorAfterTokens ends a 200 stream with the container's own error; the prompt's cost delays the first token`, () => {
    const body = req(
      model === 'openai' ? { messages: [{ role: 'user', content: 'a b c' }], max_tokens: 6 } : { inputs: 'a b c', parameters: { max_new_tokens: 6 } },
    );
    const plan = planStream({ model, firstTokenMs: 10, promptTokenMs: 5, errorAfterTokens: 2 }, { body, headers: {}, random: mulberry32(2) });
    assert.equal(plan.chunks[0]!.delayMs, 10 + 3 * 5);
    assert.equal(plan.completionTokens, 2);
    const p = new StreamParser(model);
    plan.chunks.forEach((c, i) => {
      p.push(c.bytes, i);
    });
    const { outcome } = p.end(100);
    assert.equal(outcome.ok, false);
    if (!outcome.ok) assert.equal(outcome.problem.code, 'LlmError');
    assert.equal(p.tokenTimes.length, 2);
  });
}
