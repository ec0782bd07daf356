// --llm, --prompt and the batch-file formats against the emulator's TGI, OpenAI and LMI containers,
// the built executable end to end: each schema streamed and not, token counts against the
// emulator's own, time to first token against its log, the LMI error token, auto on an unknown
// answer, --llm-body none, envelopes with a prompt, OpenAI and Bedrock batch files through and back
// (duplicate custom_id, resume, --resume-failed, dry run), the statistics, and the usage errors.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type Emulator, type RequestLogEntry } from '../../src/emulator/server.js';
import { BINARY, runCli, tempDir } from '../helpers/cli.js';

let emu: Emulator;
before(async () => {
  emu = await startEmulator({
    endpoints: {
      tgi: { model: 'tgi', stream: { model: 'tgi', firstTokenMs: 20, interTokenMs: 1, split: 'random' } },
      lmi: { model: 'lmi', stream: { model: 'lmi', firstTokenMs: 20, interTokenMs: 1, split: 'random' } },
      openai: { model: 'openai', stream: { model: 'openai', firstTokenMs: 20, interTokenMs: 1, split: 'random' } },
      lmierr: { model: 'lmi', stream: { model: 'lmi', errorAfterTokens: 2 } },
      echo: { model: 'echo' },
    },
  });
});
after(() => emu.close());

async function run(args: string[], input: string | Buffer) {
  const r = await runCli(['--endpoint-url', emu.url, ...args], { input, command: BINARY });
  return { ...r, text: r.stdout.toString('utf8') };
}

const since = (from: number): RequestLogEntry[] => emu.log.slice(from).sort((a, b) => a.seq - b.seq);
const PROMPTS = ['What is deep learning?', 'Write a haiku about the sea, please', '"Two\\nlines é 😀"'];

describe('--llm with --prompt, each schema', () => {
  for (const schema of ['tgi', 'lmi', 'openai'] as const) {
    for (const stream of [false, true]) {
      test(`${schema}${stream ? ' --stream' : ''}: text, tokens exact against the emulator, one line per prompt in order`, async () => {
        const from = emu.log.length;
        const args = ['--endpoint-name', schema, '--llm', schema, '--prompt', '--max-new-tokens', '7', ...(stream ? ['--stream'] : [])];
        const r = await run(args, `${PROMPTS.join('\n')}\n`);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.lines.length, 3);
        const log = since(from);
        assert.equal(log.length, 3);
        r.lines.forEach((line, i) => {
          assert.equal(line.line, i + 1);
          assert.equal(line.ok, true, JSON.stringify(line.error));
          const truth = stream ? log[i]!.stream! : log[i]!.llm!;
          const llm = line.llm;
          assert.equal(typeof llm.text, 'string');
          assert.ok(llm.text.length > 0);
          assert.equal(llm.outputTokens, 7);
          assert.equal(llm.outputTokens, truth.completionTokens);
          assert.equal(llm.tokensExact, true);
          assert.equal(llm.finishReason, 'length');
          assert.equal(llm.inputTokens, schema === 'openai' ? truth.promptTokens : null);
          if (stream) {
            // The client's clock starts before the emulator's and ends after it: TTFT >= the emulator's first part.
            assert.ok(llm.ttftMs >= log[i]!.stream!.firstPartMs! - 0.5, `ttft ${llm.ttftMs} vs the emulator's first part ${log[i]!.stream!.firstPartMs}`);
            assert.ok(llm.ttftMs >= 20 && llm.ttftMs <= line.latencyMs + 1);
            assert.ok(llm.itlMs.max >= llm.itlMs.p50 && llm.itlMs.p50 >= 0);
            assert.ok(line.body.length > 0, 'the raw body is kept');
          } else {
            assert.equal(llm.ttftMs, null);
            assert.equal(llm.itlMs, null);
          }
          assert.ok(llm.tokensPerSecond > 0);
        });
        // The request is the container's own, with its stream flag.
        const bodies = log.map((e) => JSON.parse(e.body.toString('utf8')));
        if (schema === 'openai') {
          assert.deepEqual(bodies[0].messages, [{ role: 'user', content: PROMPTS[0] }]);
          assert.equal(bodies[0].max_tokens, 7);
          assert.equal(bodies[2].messages[0].content, 'Two\nlines é 😀');
          assert.equal(bodies[0].stream, stream);
        } else {
          assert.equal(bodies[1].inputs, PROMPTS[1]);
          assert.equal(bodies[1].parameters.max_new_tokens, 7);
          assert.equal(bodies[1].stream, stream);
        }
        assert.equal(log[0]!.headers['content-type'], 'application/json');
      });
    }
  }

  test('--llm openai --prompt --stream: the issue\'s "done when", with --stats-json totals', async () => {
    const dir = tempDir();
    const stats = join(dir, 'stats.json');
    const from = emu.log.length;
    const r = await run(
      ['--endpoint-name', 'openai', '--llm', 'openai', '--prompt', '--stream', '--system', 'Be brief.', '--stats', '--stats-json', stats],
      'one\ntwo three\n',
    );
    assert.equal(r.code, 0, r.stderr);
    const log = since(from);
    const s = JSON.parse(readFileSync(stats, 'utf8')).llm;
    assert.equal(s.records, 2);
    assert.equal(
      s.outputTokens,
      log.reduce((n, e) => n + e.stream!.completionTokens, 0),
    );
    assert.equal(
      s.inputTokens,
      log.reduce((n, e) => n + e.stream!.promptTokens, 0),
    );
    assert.equal(s.outputTokensExact, true);
    assert.ok(s.ttftMs.p50 >= 20);
    assert.match(r.stderr, /time to first token: p50 \d/);
    assert.equal(JSON.parse(log[0]!.body.toString('utf8')).messages[0].role, 'system');
  });

  test('envelopes with a prompt key; --llm-body none leaves the raw body out', async () => {
    const input = '{"prompt":"hello","meta":{"k":1}}\n{"body":"x"}\n{"prompt":7}\n';
    const r = await run(['--envelope', '--endpoint-name', 'tgi', '--llm', 'tgi', '--prompt', '--llm-body', 'none'], input);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.lines[0]!.ok, true);
    assert.equal(r.lines[0]!.body, undefined);
    assert.deepEqual(r.lines[0]!.meta, { k: 1 });
    assert.equal(r.lines[0]!.llm.outputTokens, 20);
    assert.match(r.lines[1]!.error.message, /with --prompt, give a prompt/);
    assert.match(r.lines[2]!.error.message, /prompt must be a string, got a number/);
  });

  test('--dry-run shows the built request', async () => {
    const r = await run(['--endpoint-name', 'lmi', '--llm', 'lmi', '--prompt', '--dry-run', '--temperature', '0.5'], 'hi\n');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.lines[0]!.request.bodyBytes, '{"inputs":"hi","parameters":{"temperature":0.5,"do_sample":true,"details":true},"stream":false}'.length);
    assert.ok(r.lines[0]!.request.bodyPreview.startsWith('{"inputs":"hi","parameters":{"temperature":0.5,"do_sample":true,"details":true}'));
  });
});

describe('answers that are not what they should be', () => {
  test('a 200 stream ending in an LMI error token fails its record (body kept); the others are untouched', async () => {
    const input = '{"endpointName":"lmierr","prompt":"a b"}\n{"endpointName":"lmi","prompt":"c"}\n';
    const r = await run(['--envelope', '--llm', 'lmi', '--prompt', '--stream'], input);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.lines[0]!.ok, false);
    assert.equal(r.lines[0]!.error.code, 'LlmError');
    assert.match(r.lines[0]!.error.message, /error during generation/);
    assert.equal(r.lines[0]!.llm.finishReason, 'error');
    assert.equal(r.lines[0]!.llm.outputTokens, 2);
    assert.ok(r.lines[0]!.body.includes('"id":-1') || typeof r.lines[0]!.body === 'string');
    assert.equal(r.lines[1]!.ok, true);
    assert.match(r.stderr, /LlmError/);
  });

  test("a stream cut mid-way and sent again: the reading is the new attempt's alone (tokens not counted twice)", async () => {
    const body = JSON.stringify({
      inputs: 'retry me',
      parameters: { max_new_tokens: 6 },
      stream: true,
      __emulator: { streamFault: { type: 'internal-stream-failure', afterParts: 3, times: 1 } },
    });
    const r = await run(['--endpoint-name', 'tgi', '--llm', 'tgi', '--stream'], `${body}\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.lines[0]!.attempts, 2);
    assert.equal(r.lines[0]!.llm.outputTokens, 6);
    assert.ok(r.lines[0]!.stream.parts >= 6, "the second attempt's parts only (its events cut in 1-3 parts)");
    assert.equal((r.lines[0]!.body.match(/"token":/g) ?? []).length, 6, "the body is the second attempt's");
  });

  test('auto on each shape, and on an unknown one: LlmShapeError, the body kept', async () => {
    const input = ['tgi', 'lmi', 'openai', 'echo']
      .map((ep) => JSON.stringify({ endpointName: ep, body: { inputs: 'x y', messages: [{ role: 'user', content: 'x y' }] } }))
      .join('\n');
    const r = await run(['--envelope', '--llm', 'auto'], `${input}\n`);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(
      r.lines.map((l) => l.ok),
      [true, true, true, false],
    );
    assert.equal(r.lines[2]!.llm.inputTokens, 2);
    assert.equal(r.lines[3]!.error.code, 'LlmShapeError');
    assert.match(r.lines[3]!.error.message, /not a TGI, LMI or OpenAI answer/);
    assert.equal(r.lines[3]!.body.variant, 'AllTraffic');
  });

  test('"stream": true sent to InvokeEndpoint: the whole event stream read as one answer', async () => {
    const r = await run(['--endpoint-name', 'tgi', '--llm', 'tgi'], '{"inputs":"a","parameters":{"max_new_tokens":4},"stream":true}\n');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.lines[0]!.llm.outputTokens, 4);
    assert.equal(r.lines[0]!.llm.ttftMs, null);
  });
});

const OPENAI_BATCH = [
  '{"custom_id": "request-1", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "gpt-3.5-turbo-0125", "messages": [{"role": "system", "content": "You are a helpful assistant."},{"role": "user", "content": "Hello world!"}],"max_tokens": 5}}',
  '{"custom_id": "request-2", "method": "POST", "url": "/v1/completions", "body": {"model": "m", "prompt": "Say this is a test", "max_tokens": 3}}',
  '{"custom_id": "request-3", "method": "POST", "url": "/v1/embeddings", "body": {"model": "e", "input": "The food was delicious"}}',
  '{"custom_id": "request-1", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": []}}',
];

describe('batch files as they are', () => {
  test('an OpenAI batch file goes through unchanged and comes back as the Batch API output, in order; a duplicate custom_id fails', async () => {
    const from = emu.log.length;
    const r = await run(['--endpoint-name', 'openai', '--input-format', 'openai-batch'], `${OPENAI_BATCH.join('\n')}\n`);
    assert.equal(r.code, 1, r.stderr);
    const log = since(from);
    assert.equal(log.length, 3, 'the duplicate is not sent');
    // Each body went as written (compacted).
    assert.equal(log[0]!.body.toString('utf8'), JSON.stringify(JSON.parse(OPENAI_BATCH[0]!).body));
    const out = r.text.split('\n').filter((l) => l !== '');
    assert.equal(out.length, 4);
    const lines = out.map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => l.custom_id),
      ['request-1', 'request-2', 'request-3', 'request-1'],
    );
    assert.deepEqual(Object.keys(lines[0]), ['id', 'custom_id', 'response', 'error']);
    assert.equal(lines[0].response.status_code, 200);
    assert.equal(lines[0].response.request_id, log[0]!.requestId);
    assert.equal(lines[0].response.body.object, 'chat.completion');
    assert.equal(lines[0].response.body.usage.completion_tokens, 5);
    assert.equal(lines[1].response.body.object, 'text_completion');
    assert.equal(lines[2].response.body.object, 'list');
    assert.equal(lines[0].error, null);
    assert.equal(lines[3].response, null);
    assert.equal(lines[3].error.code, 'InvalidRecord');
    assert.match(lines[3].error.message, /duplicate custom_id "request-1" \(first on line 1\)/);
  });

  test('OpenAI batch: resume and --resume-failed continue the Batch API output file', async () => {
    const dir = tempDir();
    const out = join(dir, 'out.jsonl');
    const input = `${OPENAI_BATCH.slice(0, 3).join('\n')}\n`;
    const full = await run(['--endpoint-name', 'openai', '--input-format', 'openai-batch', out], input);
    assert.equal(full.code, 0, full.stderr);
    const lines = readFileSync(out, 'utf8').split('\n');
    // An interrupted run: one line, then a torn one.
    writeFileSync(out, `${lines[0]}\n${lines[1]!.slice(0, 30)}`);
    const from = emu.log.length;
    const resumed = await run(['--endpoint-name', 'openai', '--input-format', 'openai-batch', '--resume', out], input);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(since(from).length, 2);
    const after = readFileSync(out, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    assert.deepEqual(
      after.map((l) => JSON.parse(l).custom_id),
      ['request-1', 'request-2', 'request-3'],
    );
    assert.equal(after[0], lines[0]);
    // A failed line is sent again with --resume-failed; the ok ones stay byte for byte.
    const failed = after.slice();
    failed[1] = '{"id":"batch_req_2","custom_id":"request-2","response":null,"error":{"code":"ModelError","message":"boom"}}';
    writeFileSync(out, `${failed.join('\n')}\n`);
    const from2 = emu.log.length;
    const again = await run(['--endpoint-name', 'openai', '--input-format', 'openai-batch', '--resume-failed', out], input);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(since(from2).length, 1);
    const final = readFileSync(out, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    assert.equal(final[0], after[0]);
    assert.equal(final[2], after[2]);
    assert.equal(JSON.parse(final[1]!).error, null);
    // Another input against this outfile is refused, the file untouched.
    const other = await run(['--endpoint-name', 'openai', '--input-format', 'openai-batch', '--resume', out], input.replace(/request-3/, 'request-9'));
    assert.equal(other.code, 2);
    // The digest file proves each answered record (a changed custom_id is another record).
    assert.match(other.stderr, /record 3 of this input \(line 3\) is not the record that the outfile's result 3 answers/);
  });

  test('a Bedrock batch file goes through and comes back as its .jsonl.out, modelInput as written', async () => {
    const input = [
      '{ "recordId" : "3223593EFGH", "modelInput" : {"inputs": "Roses are red, violets are", "parameters": {"max_new_tokens": 3}} }',
      '{"modelInput": {"inputs": "Hello world", "parameters": {"max_new_tokens": 2, "details": true}}}',
      '{"recordId": "1223213ABCD", "modelInput": "not an object"}',
    ].join('\n');
    const r = await run(['--endpoint-name', 'lmi', '--input-format', 'bedrock-batch', '--llm', 'lmi'], `${input}\n`);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l));
    assert.deepEqual(Object.keys(lines[0]), ['recordId', 'modelInput', 'modelOutput']);
    assert.equal(lines[0].recordId, '3223593EFGH');
    assert.deepEqual(lines[0].modelInput, { inputs: 'Roses are red, violets are', parameters: { max_new_tokens: 3 } });
    assert.equal(typeof lines[0].modelOutput.generated_text, 'string');
    assert.equal(lines[1].recordId, '00000000002');
    assert.equal(lines[1].modelOutput.details.generated_tokens, 2);
    assert.deepEqual(Object.keys(lines[2]), ['recordId', 'modelInput', 'error']);
    assert.equal(lines[2].error.errorCode, 400);
    assert.match(lines[2].error.errorMessage, /modelInput must be a JSON object/);
    assert.equal(
      r.text.split('\n')[0],
      `{"recordId":"3223593EFGH","modelInput":{"inputs":"Roses are red, violets are","parameters":{"max_new_tokens":3}},"modelOutput":${JSON.stringify(lines[0].modelOutput)}}`,
    );
  });

  test('Bedrock batch: --resume continues the .jsonl.out', async () => {
    const dir = tempDir();
    const out = join(dir, 'records.jsonl.out');
    const input = `${['A', 'B', 'C'].map((id) => JSON.stringify({ recordId: `${id.repeat(11)}`, modelInput: { inputs: id, parameters: { max_new_tokens: 2 } } })).join('\n')}\n`;
    const full = await run(['--endpoint-name', 'lmi', '--input-format', 'bedrock-batch', out], input);
    assert.equal(full.code, 0, full.stderr);
    const lines = readFileSync(out, 'utf8').split('\n');
    writeFileSync(out, `${lines[0]}\n${lines[1]}\n`);
    const from = emu.log.length;
    const resumed = await run(['--endpoint-name', 'lmi', '--input-format', 'bedrock-batch', '--resume', out], input);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(since(from).length, 1);
    const after = readFileSync(out, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    assert.deepEqual(
      after.map((l) => JSON.parse(l).recordId),
      ['AAAAAAAAAAA', 'BBBBBBBBBBB', 'CCCCCCCCCCC'],
    );
    assert.equal(after[1], lines[1]);
  });

  test('--output result with a batch file: result lines with the recordId; dry run', async () => {
    const r = await run(['--endpoint-name', 'openai', '--input-format', 'openai-batch', '--output', 'result', '--dry-run'], `${OPENAI_BATCH[1]}\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.lines[0]!.recordId, 'request-2');
    assert.equal(r.lines[0]!.request.bodyBytes, JSON.stringify(JSON.parse(OPENAI_BATCH[1]!).body).length);
  });
});

describe('usage errors', () => {
  const cases: [string[], RegExp][] = [
    [['--prompt'], /--prompt builds the container's own request: give its schema with --llm/],
    [['--llm', 'auto', '--prompt'], /give its schema with --llm tgi/],
    [['--llm', 'tgi', '--prompt', '--system', 's'], /--system needs --llm openai/],
    [['--max-new-tokens', '5'], /--max-new-tokens goes with --prompt/],
    [['--llm', 'tgi', '--prompt', '--max-new-tokens', '0'], /--max-new-tokens must be a whole number from 1/],
    [['--llm', 'gpt'], /--llm must be one of tgi, openai, lmi, auto/],
    [['--llm-body', 'none'], /--llm-body goes with --llm/],
    [['--llm', 'tgi', '--llm-body', 'none', '--output', 'body'], /--output body writes the body itself/],
    [['--output', 'openai-batch'], /give --input-format openai-batch/],
    [['--input-format', 'openai-batch', '--output', 'bedrock-batch'], /--output bedrock-batch needs --input-format bedrock-batch/],
    [['--input-format', 'openai-batch', '--batch-size', '4'], /does not go with --batch-size/],
    [['--llm', 'tgi', '--batch-size', '4'], /--llm reads one answer per request/],
    [['--input-format', 'csv'], /--input-format must be one of openai-batch, bedrock-batch/],
  ];
  for (const [args, message] of cases) {
    test(args.join(' '), async () => {
      const r = await run(['--endpoint-name', 'tgi', ...args], 'x\n');
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stdout.length, 0);
    });
  }
});
