// --stream against the emulator, the built executable end to end: every stream model with parts
// split everywhere, each mid-stream fault (retried or final as specified, never ok, the other records
// untouched and in order), CRC corruption, a 5 MiB stream, the idle timeout, the byte cap, resume and
// --resume-failed, dry run, the members the operation refuses, and the single call to a file and to
// stdout with its parts written before the stream ends.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { BINARY, runCli, scrubbedEnv, tempDir } from '../helpers/cli.js';

let emu: Emulator;
before(async () => {
  emu = await startEmulator({
    endpoints: {
      echo: { model: 'mirror', stream: { model: 'echo', partBytes: { min: 1, max: 3 } } },
      tgi: { stream: { model: 'tgi', tokens: 8, split: 'random' } },
      openai: { stream: { model: 'openai', tokens: 6 } },
      lmi: { stream: { model: 'lmi', tokens: 5, split: 'random' } },
      slow: { stream: { model: 'tgi', tokens: 5, firstTokenMs: 0, interTokenMs: 250 } },
      big: { stream: { model: 'echo' } },
    },
  });
});
after(() => emu.close());

async function run(args: string[], input: string | Buffer) {
  const r = await runCli(['--endpoint-url', emu.url, ...args], { input, command: BINARY });
  return { ...r, text: r.stdout.toString('utf8') };
}

const streamed = (from: number) => emu.log.slice(from).filter((e) => e.path.endsWith('/invocations-response-stream'));
const fault = (type: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ inputs: 'hello there', __emulator: { streamFault: { type, afterParts: 2, ...extra } } });

describe('the call', () => {
  test('echo split at arbitrary bytes: the body is the exact concatenation, as without --stream', async () => {
    const lines = ['{"a":"héllo wörld 😀 ünïcödé","n":[1,2.50,-0,1e400],"s":"\\u00e9\\n"}', 'plain text, not JSON ✓', '{"x":  1 ,\t"y": [ ]}'];
    const input = `${lines.join('\n')}\n`;
    const from = emu.log.length;
    const s = await run(['--endpoint-name', 'echo', '--stream', '--content-type', 'application/json', '--accept', 'application/json'], input);
    assert.equal(s.code, 0, s.stderr);
    const plain = await run(['--endpoint-name', 'echo', '--content-type', 'application/json', '--accept', 'application/json'], input);
    const sent = streamed(from);
    assert.equal(sent.length, 3);
    for (const e of sent) {
      assert.equal(e.headers['x-amzn-sagemaker-accept'], 'application/json');
      assert.equal(e.headers.accept, undefined);
      assert.ok(e.stream!.parts > 1, 'split into parts');
    }
    s.lines.forEach((r, i) => {
      assert.equal(r.ok, true);
      assert.equal(r.contentType, 'application/json', 'from X-Amzn-SageMaker-Content-Type');
      assert.deepEqual(r.body, plain.lines[i]!.body);
      assert.equal(r.stream.parts, sent[i]!.stream!.parts);
      assert.equal(r.stream.bytes, Buffer.byteLength(lines[i]!));
      assert.ok(r.stream.firstByteMs >= 0 && r.stream.firstByteMs <= r.latencyMs + 1);
    });
    // The raw body lines are byte-identical with and without --stream.
    assert.equal(s.text.replace(/,"stream":\{[^}]*\}/g, '').replace(/"latencyMs":\d+/g, ''), plain.text.replace(/"latencyMs":\d+/g, ''));
  });

  test('--output body is the same with --stream; a binary body comes back as base64', async () => {
    const input = '{"body":{"k":"v ✓"}}\n{"bodyBase64":"/wD+AQID"}\n{"body":"text\\nwith newline"}\n';
    const a = await run(['--endpoint-name', 'echo', '--envelope', '--output', 'body', '--stream'], input);
    const b = await run(['--endpoint-name', 'echo', '--envelope', '--output', 'body'], input);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.text, b.text);
  });

  for (const model of ['tgi', 'openai', 'lmi'] as const) {
    test(`${model}: the container's wire shape, every part, the emulator's token count`, async () => {
      const from = emu.log.length;
      const r = await run(['--endpoint-name', model, '--stream', '--content-type', 'application/json'], '{"inputs":"What is deep learning?"}\n');
      assert.equal(r.code, 0, r.stderr);
      const [res] = r.lines;
      const [e] = streamed(from);
      assert.equal(res!.stream.parts, e!.stream!.parts);
      assert.equal(res!.stream.bytes, e!.stream!.bytes);
      const body = res!.body as string;
      assert.equal(Buffer.byteLength(body), res!.stream.bytes);
      const n = e!.stream!.completionTokens;
      if (model === 'tgi') {
        const events = body.split('\n\n').filter(Boolean);
        assert.equal(events.length, n);
        const last = JSON.parse(events.at(-1)!.slice('data:'.length));
        assert.equal(last.details.generated_tokens, n);
        assert.equal(typeof last.generated_text, 'string');
        assert.equal(res!.contentType, 'text/event-stream');
      } else if (model === 'openai') {
        assert.ok(body.endsWith('data: [DONE]\n\n'));
        const usage = JSON.parse(body.split('\n\n').at(-3)!.slice('data: '.length)).usage;
        assert.equal(usage.completion_tokens, n);
        assert.equal(usage.prompt_tokens, 4);
      } else {
        const rows = body
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
        assert.equal(rows.length, n);
        assert.equal(rows.at(-1).details.generated_tokens, n);
        assert.equal(res!.contentType, 'application/jsonlines');
      }
    });
  }

  test('PrefixAwareId goes in its header on both operations', async () => {
    const from = emu.log.length;
    const r = await run(
      ['--endpoint-name', 'echo', '--envelope', '--prefix-aware-id', 'doc-7'],
      '{"body":"a","stream":true}\n{"body":"b"}\n{"body":"c","prefixAwareId":"other"}\n',
    );
    assert.equal(r.code, 0, r.stderr);
    const sent = emu.log.slice(from);
    assert.deepEqual(
      sent.map((e) => [e.path.endsWith('-response-stream'), e.headers['x-amzn-sagemaker-prefix-aware-id']]),
      [
        [true, 'doc-7'],
        [false, 'doc-7'],
        [false, 'other'],
      ],
    );
    const bad = await run(['--endpoint-name', 'echo', '--prefix-aware-id', 'x'.repeat(65)], 'a\n');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--prefix-aware-id must be at most 64 characters/);
  });

  test('members the operation lacks are refused before sending, per record and as flags', async () => {
    const from = emu.log.length;
    const r = await run(
      ['--endpoint-name', 'echo', '--envelope', '--stream'],
      '{"body":"a","targetModel":"m.tar.gz"}\n{"body":"b","enableExplanations":"`true`"}\n{"body":"c","sessionId":"NEW_SESSION"}\n{"body":"d","stream":false,"targetModel":"m.tar.gz"}\n{"body":"e","stream":"yes"}\n',
    );
    assert.equal(r.code, 1);
    assert.deepEqual(
      r.lines.map((l) => l.error?.field ?? 'ok'),
      ['targetModel', 'enableExplanations', 'sessionId', 'ok', 'stream'],
    );
    assert.match(r.lines[0]!.error.message, /InvokeEndpointWithResponseStream has no TargetModel/);
    assert.match(r.lines[2]!.error.message, /only InvokeEndpoint opens a session/);
    assert.equal(emu.log.length - from, 1, 'only the record without stream was sent');
    const flag = await run(['--endpoint-name', 'echo', '--stream', '--target-model', 'm.tar.gz'], 'a\n');
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /--stream: --target-model cannot be streamed/);
    const batch = await run(['--endpoint-name', 'echo', '--stream', '--batch-size', '2'], 'a\n');
    assert.equal(batch.code, 2);
    assert.match(batch.stderr, /--stream sends one record per request/);
  });

  test('with --batch-size, an envelope streamed record goes alone, between batches', async () => {
    const from = emu.log.length;
    const r = await run(
      ['--endpoint-name', 'echo', '--envelope', '--batch-size', '4'],
      '{"body":"a"}\n{"body":"b"}\n{"body":"c","stream":true}\n{"body":"d"}\n',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      r.lines.map((l) => [l.body, l.batch?.size, l.stream?.parts > 0]),
      [
        ['a', 2, false],
        ['b', 2, false],
        ['c', undefined, true],
        ['d', 1, false],
      ],
    );
    assert.deepEqual(
      emu.log.slice(from).map((e) => e.path.endsWith('-response-stream')),
      [false, true, false],
    );
  });

  test('a stream that ends without a part: an empty body, firstByteMs null', async () => {
    const r = await run(['--endpoint-name', 'echo', '--envelope', '--stream'], '{"body":""}\n');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.lines[0]!.body, '');
    assert.deepEqual(r.lines[0]!.stream, { firstByteMs: null, parts: 0, bytes: 0 });
  });

  test('--dry-run describes the streaming request', async () => {
    const r = await run(['--endpoint-name', 'echo', '--stream', '--dry-run', '--accept', 'application/json'], 'x\n');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.lines[0]!.request.url, /\/endpoints\/echo\/invocations-response-stream$/);
    assert.equal(r.lines[0]!.request.headers['x-amzn-sagemaker-accept'], 'application/json');
    assert.equal(r.lines[0]!.request.headers.accept, undefined);
  });
});

describe('mid-stream failures', () => {
  const cases: Array<[string, number, string | undefined]> = [
    // [fault, attempts when it happens once, final code when it does not go away]
    ['internal-stream-failure', 2, 'InternalStreamFailure'],
    ['cut', 2, 'StreamCut'],
    ['bad-crc', 2, 'StreamChecksumMismatch'],
  ];
  for (const [type, attempts, code] of cases) {
    test(`${type}: the record is sent again as a whole; never ok while it persists`, async () => {
      const input = ['{"inputs":"first"}', fault(type, { times: 1 }), '{"inputs":"third"}', fault(type), '{"inputs":"fifth"}'].join('\n') + '\n';
      const r = await run(['--endpoint-name', 'tgi', '--stream', '--max-attempts', '3'], input);
      assert.equal(r.code, 1, r.stderr);
      assert.deepEqual(
        r.lines.map((l) => l.line),
        [1, 2, 3, 4, 5],
      );
      assert.deepEqual(
        r.lines.map((l) => l.ok),
        [true, true, true, false, true],
      );
      assert.equal(r.lines[1]!.attempts, attempts);
      const body = r.lines[1]!.body as string;
      assert.equal(body.split('\n\n').filter(Boolean).length, 8, 'the complete answer, not the parts of the failed attempt');
      const failed = r.lines[3]!;
      assert.equal(failed.error.code, code);
      assert.equal(failed.attempts, 3);
      assert.equal(failed.error.parts, type === 'bad-crc' ? 2 : 2);
      assert.ok(failed.error.bytes > 0);
      assert.equal(failed.body, undefined);
    });
  }

  test('ModelStreamError is final (with its ErrorCode) unless --retry-model-errors; an error message is final', async () => {
    const input =
      [fault('model-stream-error', { times: 1 }), fault('error-message', { times: 1, errorCode: 'SomethingBroke', message: 'it broke' })].join('\n') + '\n';
    const r = await run(['--endpoint-name', 'tgi', '--stream'], input);
    assert.equal(r.code, 1);
    const [m, e] = r.lines;
    assert.equal(m!.ok, false);
    assert.equal(m!.error.code, 'ModelStreamError');
    assert.equal(m!.error.errorCode, 'ModelInvocationTimeExceeded');
    assert.equal(m!.error.parts, 2);
    assert.equal(m!.attempts, 1);
    assert.equal(e!.error.code, 'SomethingBroke');
    assert.match(e!.error.message, /^it broke \(after 2 parts \(\d+ bytes\)\)$/);
    assert.equal(e!.attempts, 1);
    const again = await run(['--endpoint-name', 'tgi', '--stream', '--retry-model-errors'], `${fault('model-stream-error', { times: 1, afterParts: 3 })}\n`);
    assert.equal(again.lines[0]!.ok, true, again.text);
    assert.equal(again.lines[0]!.attempts, 2);
  });

  test('a stalled stream ends at --stream-idle-timeout and is retried within --max-attempts', async () => {
    const r = await run(
      ['--endpoint-name', 'tgi', '--stream', '--stream-idle-timeout', '0.3', '--max-attempts', '2'],
      `${fault('stall', { times: 1 })}\n${fault('stall')}\n`,
    );
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.lines[0]!.ok, true);
    assert.equal(r.lines[0]!.attempts, 2);
    assert.equal(r.lines[1]!.error.code, 'StreamIdleTimeout');
    assert.equal(r.lines[1]!.error.parts, 2);
    assert.equal(r.lines[1]!.attempts, 2);
  });

  test('a stall before the first part is the --timeout of today', async () => {
    const r = await run(['--endpoint-name', 'tgi', '--stream', '--timeout', '0.3', '--max-attempts', '1'], `${fault('stall', { afterParts: 0 })}\n`);
    assert.equal(r.lines[0]!.error.code, 'TimeoutError');
  });
});

describe('before the first part', () => {
  test("an HTTP error answer follows today's rules: throttling retried, ModelError final", async () => {
    const throttled = JSON.stringify({ inputs: 'throttle me', __emulator: { fault: 'throttle', times: 1 } });
    const modelError = JSON.stringify({ inputs: 'model error', __emulator: { fault: 'model-error', originalStatusCode: 500 } });
    const r = await run(['--endpoint-name', 'tgi', '--stream'], `${throttled}\n${modelError}\n`);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.lines[0]!.ok, true);
    assert.equal(r.lines[0]!.attempts, 2);
    assert.equal(r.lines[1]!.error.code, 'ModelError');
    assert.equal(r.lines[1]!.error.status, 424);
    assert.equal(r.lines[1]!.error.parts, undefined);
    assert.equal(r.lines[1]!.attempts, 1);
  });
});

describe('large streams', () => {
  test('a 5 MiB stream arrives whole; past --max-stream-mib it is ResponseTooLarge for that record only', async () => {
    const big = 'x'.repeat(5 * 1024 * 1024 - 10) + 'ü😀end';
    const r = await run(['--endpoint-name', 'big', '--stream', '--output', 'body'], `${big}\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.text, `${big}\n`);
    const capped = await run(['--endpoint-name', 'big', '--stream', '--max-stream-mib', '1'], `${'y'.repeat(2 * 1024 * 1024)}\nsmall\n`);
    assert.equal(capped.code, 1);
    assert.equal(capped.lines[0]!.error.code, 'ResponseTooLarge');
    assert.equal(capped.lines[1]!.ok, true);
    assert.equal(capped.lines[1]!.body, 'small');
  });
});

describe('resume with streamed results', () => {
  test('--resume-failed sends the failed streamed records again and keeps the others', async () => {
    const dir = tempDir();
    const out = join(dir, 'out.ndjson');
    const once = JSON.stringify({ inputs: 'resume me', __emulator: { streamFault: { type: 'internal-stream-failure', afterParts: 2, times: 1 } } });
    const input = `{"inputs":"a"}\n${once}\n{"inputs":"c"}\n`;
    const first = await run(['--endpoint-name', 'tgi', '--stream', '--max-attempts', '1', out], input);
    assert.equal(first.code, 1);
    const before = readFileSync(out, 'utf8').split('\n');
    assert.match(before[1]!, /"ok":false/);
    const second = await run(['--endpoint-name', 'tgi', '--stream', '--resume-failed', out], input);
    assert.equal(second.code, 0, second.stderr);
    const lines = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => [l.line, l.ok]),
      [
        [1, true],
        [2, true],
        [3, true],
      ],
    );
    assert.equal(JSON.stringify(lines[0]), before[0]);
    assert.ok(lines[1].stream.parts > 0);
  });
});

test('--resume keeps the streamed results already written and streams the rest', async () => {
  const dir = tempDir();
  const out = join(dir, 'out.ndjson');
  const input = '{"inputs":"one"}\n{"inputs":"two"}\n{"inputs":"three"}\n';
  const whole = await run(['--endpoint-name', 'lmi', '--stream'], input);
  writeFileSync(out, `${whole.text.split('\n')[0]}\n`);
  const from = emu.log.length;
  const r = await run(['--endpoint-name', 'lmi', '--stream', '--resume', out], input);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(emu.log.length - from, 2, 'only the two records not answered yet');
  const lines = readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    lines.map((l) => [l.line, l.ok, l.stream.parts > 0]),
    [
      [1, true, true],
      [2, true, true],
      [3, true, true],
    ],
  );
});

describe('single call (--body --stream)', () => {
  test('to a file: the parts, then the metadata as the CLI prints it', async () => {
    const dir = tempDir();
    const out = join(dir, 'answer.txt');
    const r = await run(['--endpoint-name', 'lmi', '--stream', '--body', '{"inputs":"q"}', out], '');
    assert.equal(r.code, 0, r.stderr);
    const meta = JSON.parse(r.text);
    assert.deepEqual(Object.keys(meta), ['ContentType', 'InvokedProductionVariant']);
    assert.equal(meta.ContentType, 'application/jsonlines');
    const rows = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(rows.length, 5);
  });

  test('to stdout: the first part is written while the stream is still going', async () => {
    const from = emu.log.length;
    const child = spawn(BINARY, ['--endpoint-url', emu.url, '--endpoint-name', 'slow', '--stream', '--body', '{"inputs":"q"}', '-'], {
      env: scrubbedEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let firstChunkAt: number | undefined;
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => {
      firstChunkAt ??= performance.timeOrigin + performance.now();
      chunks.push(c);
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0);
    const [e] = streamed(from);
    // The first write came before the emulator had even sent the last part (a second later).
    assert.ok(firstChunkAt! < e!.stream!.lastPartAt!, `first stdout write ${firstChunkAt} vs last part sent ${e!.stream!.lastPartAt}`);
    const text = Buffer.concat(chunks).toString('utf8');
    assert.equal(text.split('data:').length - 1, 5);
    assert.match(text, /\n\{\n {4}"ContentType": "text\/event-stream"/);
  });

  test('a failure mid-stream: the AWS CLI error line for the streaming operation, exit 254', async () => {
    const dir = tempDir();
    const body = join(dir, 'body.json');
    writeFileSync(body, fault('model-stream-error'));
    const r = await run(['--endpoint-name', 'tgi', '--stream', '--body', `file://${body}`, join(dir, 'out')], '');
    assert.equal(r.code, 254);
    assert.match(r.stderr, /An error occurred \(ModelStreamError\) when calling the InvokeEndpointWithResponseStream operation: /);
  });

  test('an unknown endpoint and an unreachable one: the AWS CLI words for the streaming operation', async () => {
    const dir = tempDir();
    const r = await run(['--endpoint-name', 'nope', '--stream', '--body', 'x', join(dir, 'out')], '');
    assert.equal(r.code, 254);
    assert.match(r.stderr, /An error occurred \(ValidationError\) when calling the InvokeEndpointWithResponseStream operation: Endpoint nope of account/);
    const down = await runCli(
      ['--endpoint-url', 'http://127.0.0.1:9', '--endpoint-name', 'tgi', '--stream', '--body', 'x', '--max-attempts', '1', join(dir, 'out')],
      { command: BINARY },
    );
    assert.equal(down.code, 255);
    assert.match(down.stderr, /Could not connect to the endpoint URL: "http:\/\/127\.0\.0\.1:9\/endpoints\/tgi\/invocations-response-stream"/);
  });
});
