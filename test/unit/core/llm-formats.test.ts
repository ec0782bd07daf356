// core/llm/prompt.ts and core/formats: requests built from prompts for each schema, and the OpenAI
// Batch API and Bedrock batch inference lines read as records and written back, byte for byte
// where the formats fix the bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchDecoder } from '../../../src/core/formats/batch-input.js';
import { encodeFormatLine, readFormatLine } from '../../../src/core/formats/batch-output.js';
import { promptBody, promptDecoder, promptOfLine } from '../../../src/core/llm/prompt.js';
import type { GoodRecord } from '../../../src/core/records.js';
import type { Result } from '../../../src/core/result-format.js';

const latin1 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

const PROMPTS: { name: string; settings: Parameters<typeof promptBody>[1]; stream: boolean; want: string }[] = [
  {
    name: 'tgi, greedy, streamed',
    settings: { schema: 'tgi', maxNewTokens: 64, temperature: 0 },
    stream: true,
    want: '{"inputs":"Hi é","parameters":{"max_new_tokens":64,"do_sample":false,"details":true},"stream":true}',
  },
  {
    name: 'lmi, sampled',
    settings: { schema: 'lmi', temperature: 0.7 },
    stream: false,
    want: '{"inputs":"Hi é","parameters":{"temperature":0.7,"do_sample":true,"details":true},"stream":false}',
  },
  {
    name: 'openai with a system message, streamed (usage asked for)',
    settings: { schema: 'openai', maxNewTokens: 10, temperature: 0.2, system: 'Be brief.' },
    stream: true,
    want: '{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi é"}],"max_tokens":10,"temperature":0.2,"stream":true,"stream_options":{"include_usage":true}}',
  },
  { name: 'openai, unstreamed', settings: { schema: 'openai' }, stream: false, want: '{"messages":[{"role":"user","content":"Hi é"}],"stream":false}' },
];

for (const c of PROMPTS) {
  test(`prompt request: ${c.name}`, () => {
    assert.equal(promptBody('Hi é', c.settings, c.stream).toString('utf8'), c.want);
  });
}

test('prompt lines: as written, or one JSON string decoded; not UTF-8 is an error', () => {
  assert.equal(promptOfLine(latin1('What is "deep" learning?')), 'What is "deep" learning?');
  assert.equal(promptOfLine(latin1('"line one\\nline two"')), 'line one\nline two');
  assert.equal(promptOfLine(latin1('"not" one string"')), '"not" one string"');
  assert.equal(promptOfLine('\xff\xfe'), undefined);
  const dec = promptDecoder({ schema: 'tgi' }, { endpointName: 'e' }, 100);
  assert.equal(dec('\xff', 3, false).error?.code, 'InvalidUtf8');
  assert.match(dec('x'.repeat(200), 4, false).error?.message ?? '', /at most 100 bytes/);
});

// The OpenAI Batch API's documented input lines (and vllm run-batch's).
const OPENAI_INPUT = [
  '{"custom_id": "request-1", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "gpt-3.5-turbo-0125", "messages": [{"role": "system", "content": "You are a helpful assistant."},{"role": "user", "content": "Hello world!"}],"max_tokens": 1000}}',
  '{"custom_id": "request-2", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "gpt-3.5-turbo-0125", "messages": [{"role": "system", "content": "You are an unhelpful assistant."},{"role": "user", "content": "Hello world!"}],"max_tokens": 1000}}',
];

test('openai-batch input: the body is sent as written (compact), the custom_id kept', () => {
  const dec = batchDecoder('openai-batch', { endpointName: 'e' });
  const r = dec(OPENAI_INPUT[0]!, 1) as GoodRecord;
  assert.equal(r.error, undefined);
  assert.equal(r.recordId, 'request-1');
  assert.equal(
    r.body.toString('utf8'),
    '{"model":"gpt-3.5-turbo-0125","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Hello world!"}],"max_tokens":1000}',
  );
  assert.equal(r.fields.contentType, 'application/json');
});

const OPENAI_BAD: { name: string; line: string; field: string; message: RegExp }[] = [
  { name: 'missing custom_id', line: '{"method":"POST","url":"/v1/completions","body":{}}', field: 'custom_id', message: /missing custom_id/ },
  { name: 'empty custom_id', line: '{"custom_id":"","method":"POST","url":"/v1/completions","body":{}}', field: 'custom_id', message: /missing custom_id/ },
  { name: 'GET', line: '{"custom_id":"a","method":"GET","url":"/v1/completions","body":{}}', field: 'method', message: /method must be "POST"/ },
  {
    name: 'another url',
    line: '{"custom_id":"b","method":"POST","url":"/v1/responses","body":{}}',
    field: 'url',
    message: /url must be one of \/v1\/chat\/completions/,
  },
  {
    name: 'body not an object',
    line: '{"custom_id":"c","method":"POST","url":"/v1/embeddings","body":"x"}',
    field: 'body',
    message: /body must be a JSON object/,
  },
];

for (const c of OPENAI_BAD) {
  test(`openai-batch input: ${c.name} is the record's error`, () => {
    const r = batchDecoder('openai-batch', { endpointName: 'e' })(c.line, 1);
    assert.equal(r.error?.code, 'InvalidRecord');
    assert.equal(r.error?.field, c.field);
    assert.match(r.error?.message ?? '', c.message);
  });
}

test('openai-batch input: a repeated custom_id fails that line, naming the first', () => {
  const dec = batchDecoder('openai-batch', { endpointName: 'e' });
  assert.equal(dec(OPENAI_INPUT[0]!, 1).error, undefined);
  assert.equal(dec(OPENAI_INPUT[1]!, 2).error, undefined);
  const dup = dec(OPENAI_INPUT[0]!, 5);
  assert.match(dup.error?.message ?? '', /^duplicate custom_id "request-1" \(first on line 1\)/);
  assert.equal((dup as { recordId?: string }).recordId, 'request-1');
  assert.equal(dec('{"custom_id": "x", "method": "POST", "url": "/v1/chat/completions", "body": {', 6).error?.code, 'InvalidJson');
});

test('bedrock-batch input: modelInput sent as written; a missing recordId gets one of 11 characters', () => {
  const dec = batchDecoder('bedrock-batch', { endpointName: 'e' });
  const r = dec('{ "recordId" : "3223593EFGH", "modelInput" : {"inputText": "Roses are red, violets are"} }', 1) as GoodRecord;
  assert.equal(r.recordId, '3223593EFGH');
  assert.equal(r.body.toString(), '{"inputText":"Roses are red, violets are"}');
  const g = dec('{"modelInput":{"inputs":"x"}}', 42) as GoodRecord;
  assert.equal(g.recordId, '00000000042');
  const bad = dec('{"recordId":"R","modelInput":"text"}', 3);
  assert.equal(bad.error?.field, 'modelInput');
});

const ok = (o: Partial<Result>): Result => ({ line: 2, ok: true, status: 200, contentType: 'application/json', ...o });

test('openai-batch output: the Batch API line, byte for byte; an error line; read back', () => {
  const body = Buffer.from('{"id": "chatcmpl-xyz", "object": "chat.completion", "choices": []}');
  const line = encodeFormatLine('openai-batch', ok({ recordId: 'request-2', requestId: 'req_c187b3', body }));
  assert.equal(
    line,
    '{"id":"batch_req_2","custom_id":"request-2","response":{"status_code":200,"request_id":"req_c187b3","body":{"id":"chatcmpl-xyz","object":"chat.completion","choices":[]}},"error":null}',
  );
  assert.deepEqual(readFormatLine('openai-batch', line), { ok: true, recordId: 'request-2' });
  const failed = encodeFormatLine('openai-batch', { line: 3, ok: false, recordId: 'r3', error: { code: 'ModelError', message: 'boom', status: 424 } });
  assert.equal(failed, '{"id":"batch_req_3","custom_id":"r3","response":null,"error":{"code":"ModelError","message":"boom"}}');
  assert.deepEqual(readFormatLine('openai-batch', failed), { ok: false, recordId: 'r3' });
  assert.equal(readFormatLine('openai-batch', '{"line":1,"ok":true}'), undefined);
});

test('bedrock-batch output: the .jsonl.out line with modelInput as written, or its error', () => {
  const out = encodeFormatLine(
    'bedrock-batch',
    ok({ recordId: '3223593EFGH', modelInput: '{"inputText":"Roses are red, violets are"}', body: Buffer.from('{"results":[{"outputText":"blue\\n"}]}') }),
  );
  assert.equal(out, '{"recordId":"3223593EFGH","modelInput":{"inputText":"Roses are red, violets are"},"modelOutput":{"results":[{"outputText":"blue\\n"}]}}');
  assert.deepEqual(readFormatLine('bedrock-batch', out), { ok: true, recordId: '3223593EFGH' });
  const err = encodeFormatLine('bedrock-batch', {
    line: 1,
    ok: false,
    recordId: '1223213ABCD',
    modelInput: '{"inputText":"Hello world"}',
    error: { code: 'InvalidRecord', message: 'bad request' },
  });
  assert.equal(
    err,
    '{"recordId":"1223213ABCD","modelInput":{"inputText":"Hello world"},"error":{"errorCode":400,"errorMessage":"InvalidRecord: bad request"}}',
  );
  assert.deepEqual(readFormatLine('bedrock-batch', err), { ok: false, recordId: '1223213ABCD' });
  const text = encodeFormatLine('bedrock-batch', ok({ recordId: 'x', modelInput: '{}', contentType: 'text/plain', body: Buffer.from('plain "text"') }));
  assert.equal(text, '{"recordId":"x","modelInput":{},"modelOutput":"plain \\"text\\""}');
});
