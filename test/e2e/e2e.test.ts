// End to end: the bundled CLI as a child process against the emulator on 127.0.0.1.
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY, ndjson, runCli, scrubbedEnv, tempDir } from '../helpers/cli.js';

let emu: Emulator;
before(async () => {
  emu = await startEmulator({
    endpoints: {
      demo: { variants: [{ name: 'AllTraffic' }] },
      multi: {
        variants: [
          { name: 'AllTraffic', weight: 1 },
          { name: 'canary', weight: 1 },
        ],
        containers: ['c1', 'c2'],
        models: '*',
        inferenceComponents: ['ic-1', 'ic-2'],
      },
      mirror: { variants: [{ name: 'AllTraffic' }], model: 'mirror' },
    },
  });
});
after(() => emu.close());

const base = (): string[] => ['--endpoint-url', emu.url];
const logFor = (from: number) => emu.log.slice(from);

describe('request options reach the service as the right headers', () => {
  test('every flag', async () => {
    const from = emu.log.length;
    const r = await runCli(
      [
        ...base(),
        '--endpoint-name',
        'multi',
        '--content-type',
        'application/json',
        '--accept',
        'application/json',
        '--custom-attributes',
        'trace=1; c=2',
        '--target-model',
        'model-a.tar.gz',
        '--target-variant',
        'canary',
        '--target-container-hostname',
        'c2',
        '--inference-id',
        'id 42',
        '--inference-component-name',
        'ic-1',
        '--session-id',
        'NEW_SESSION',
        '--enable-explanations',
        '`true`',
      ],
      { input: '{"x":1}\n' },
    );
    assert.equal(r.code, 0, r.stderr);
    const [req] = logFor(from);
    assert.ok(req);
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/endpoints/multi/invocations');
    assert.equal(req.body.toString(), '{"x":1}');
    const h = req.headers;
    assert.equal(h['content-type'], 'application/json');
    assert.equal(h.accept, 'application/json');
    assert.equal(h['x-amzn-sagemaker-custom-attributes'], 'trace=1; c=2');
    assert.equal(h['x-amzn-sagemaker-target-model'], 'model-a.tar.gz');
    assert.equal(h['x-amzn-sagemaker-target-variant'], 'canary');
    assert.equal(h['x-amzn-sagemaker-target-container-hostname'], 'c2');
    assert.equal(h['x-amzn-sagemaker-inference-id'], 'id 42');
    assert.equal(h['x-amzn-sagemaker-inference-component'], 'ic-1');
    assert.equal(h['x-amzn-sagemaker-session-id'], 'NEW_SESSION');
    assert.equal(h['x-amzn-sagemaker-enable-explanations'], '`true`');
    const [line] = r.lines;
    assert.equal(line?.ok, true);
    assert.equal(line?.inferenceId, 'id 42');
    assert.equal(line?.invokedProductionVariant, 'canary');
    assert.equal(line?.customAttributes, 'trace=1; c=2');
    assert.match(String(line?.newSessionId), /^[a-zA-Z0-9-]+; Expires=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  test('every envelope field overrides the flag, and null clears it', async () => {
    const from = emu.log.length;
    const record = {
      endpointName: 'multi',
      contentType: 'text/csv',
      accept: 'application/jsonlines',
      customAttributes: 'a=b',
      targetModel: 'm2',
      targetVariant: 'AllTraffic',
      targetContainerHostname: 'c1',
      inferenceId: 'rec-1',
      inferenceComponentName: 'ic-2',
      sessionId: 'NEW_SESSION',
      enableExplanations: '`false`',
      body: '1,2,3',
      meta: { k: [1, 'two'] },
    };
    const r = await runCli([...base(), '--envelope', '--endpoint-name', 'demo', '--content-type', 'application/json', '--accept', 'x/y'], {
      input: ndjson([record, { body: { n: 1 }, contentType: null, accept: '' }]),
    });
    assert.equal(r.code, 0, r.stderr);
    const [a, b] = logFor(from);
    assert.equal(a?.path, '/endpoints/multi/invocations');
    assert.equal(a?.body.toString(), '1,2,3');
    assert.deepEqual(
      Object.fromEntries(Object.entries(a!.headers).filter(([k]) => k.startsWith('x-amzn-sagemaker-') || k === 'content-type' || k === 'accept')),
      {
        'content-type': 'text/csv',
        accept: 'application/jsonlines',
        'x-amzn-sagemaker-custom-attributes': 'a=b',
        'x-amzn-sagemaker-target-model': 'm2',
        'x-amzn-sagemaker-target-variant': 'AllTraffic',
        'x-amzn-sagemaker-target-container-hostname': 'c1',
        'x-amzn-sagemaker-inference-id': 'rec-1',
        'x-amzn-sagemaker-inference-component': 'ic-2',
        'x-amzn-sagemaker-session-id': 'NEW_SESSION',
        'x-amzn-sagemaker-enable-explanations': '`false`',
      },
    );
    assert.equal(b?.path, '/endpoints/demo/invocations');
    assert.equal(b?.body.toString(), '{"n":1}');
    assert.equal(b?.headers['content-type'], undefined, 'null clears the --content-type default');
    assert.equal(b?.headers.accept, undefined, '"" clears the --accept default');
    assert.deepEqual(r.lines[0]?.meta, { k: [1, 'two'] });
    assert.equal(r.lines[0]?.inferenceId, 'rec-1');
  });
});

describe('bodies are sent byte for byte', () => {
  test('body mode: bytes of the line, invalid UTF-8 and NUL included; CRLF and BOM stripped', async () => {
    const from = emu.log.length;
    const lines = [
      Buffer.from('\xef\xbb\xbf{"bom":1}\r\n', 'latin1'),
      Buffer.from([0x7b, 0x00, 0xff, 0xfe, 0x80, 0x7d, 0x0a]),
      Buffer.from('héllo wörld ☃\n'),
      Buffer.from('last line, no newline'),
    ];
    const r = await runCli([...base(), '--endpoint-name', 'mirror'], { input: Buffer.concat(lines) });
    assert.equal(r.code, 0, r.stderr);
    const bodies = logFor(from).map((e) => e.body);
    assert.deepEqual(bodies, [
      Buffer.from('{"bom":1}'),
      Buffer.from([0x7b, 0x00, 0xff, 0xfe, 0x80, 0x7d]),
      Buffer.from('héllo wörld ☃'),
      Buffer.from('last line, no newline'),
    ]);
    // The mirror model answers with the same bytes: text as text, non-UTF-8 as base64.
    assert.equal(r.lines[1]?.bodyBase64, Buffer.from([0x7b, 0x00, 0xff, 0xfe, 0x80, 0x7d]).toString('base64'));
    assert.equal(r.lines[2]?.body, 'héllo wörld ☃');
    assert.deepEqual(
      r.lines.map((l) => l.line),
      [1, 2, 3, 4],
    );
  });

  test('envelope mode: bodyBase64 binary, string as UTF-8, JSON value as compact JSON', async () => {
    const from = emu.log.length;
    const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const r = await runCli([...base(), '--endpoint-name', 'mirror', '--envelope'], {
      input: ndjson([{ bodyBase64: binary.toString('base64') }, { body: 'tëxt\n"q"' }, { body: { a: [1, 2, { b: null }], s: 'é' } }, { body: 42 }]),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      logFor(from).map((e) => e.body),
      [binary, Buffer.from('tëxt\n"q"'), Buffer.from('{"a":[1,2,{"b":null}],"s":"é"}'), Buffer.from('42')],
    );
    assert.equal(r.lines[0]?.bodyBase64, binary.toString('base64'));
  });
});

describe('results', () => {
  test('one line per record in input order; blank lines are not records; line numbers count input lines', async () => {
    const r = await runCli([...base(), '--endpoint-name', 'demo', '--content-type', 'application/json', '--concurrency', '4'], {
      input: '{"i":1}\n\n   \n{"i":2}\n{"i":3}\n',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      r.lines.map((l) => l.line),
      [1, 4, 5],
    );
    assert.deepEqual(
      r.lines.map((l) => JSON.parse(l.body.body).i),
      [1, 2, 3],
    );
    for (const l of r.lines) {
      assert.equal(l.ok, true);
      assert.equal(l.status, 200);
      assert.equal(l.contentType, 'application/json');
      assert.equal(l.invokedProductionVariant, 'AllTraffic');
      assert.equal(l.attempts, 1);
      assert.equal(typeof l.latencyMs, 'number');
    }
  });

  test('--output body writes only the bodies; failures leave an empty line and a message on stderr', async () => {
    const r = await runCli([...base(), '--endpoint-name', 'mirror', '--output', 'body', '--envelope'], {
      input: ndjson([
        { body: { a: 1 }, contentType: 'application/json' },
        { body: 'two\nlines\\', contentType: 'text/plain' },
        { body: { __emulator: { fault: 'model-error' } } },
        { bodyBase64: 'AP8=' },
      ]),
    });
    assert.equal(r.code, 1);
    assert.equal(r.stdout.toString(), '{"a":1}\ntwo\\nlines\\\\\n\nAP8=\n');
    assert.match(r.stderr, /^sm-invoke: line 3: ModelError: Received client error/m);
  });

  test("a service error is that record's result, with the ModelError details; exit 1", async () => {
    const r = await runCli([...base(), '--endpoint-name', 'demo', '--envelope'], {
      input: ndjson([
        { body: 1 },
        { body: { __emulator: { fault: 'model-error', originalStatusCode: 503, originalMessage: 'boom' } }, inferenceId: 'x1', meta: 'm' },
        { body: 3 },
      ]),
    });
    assert.equal(r.code, 1);
    assert.deepEqual(
      r.lines.map((l) => l.ok),
      [true, false, true],
    );
    const e = r.lines[1]!;
    assert.equal(e.inferenceId, 'x1');
    assert.equal(e.meta, 'm');
    assert.equal(e.attempts, 1, "a ModelError is the model's answer: not retried");
    assert.equal(e.error.code, 'ModelError');
    assert.equal(e.error.status, 424);
    assert.equal(e.error.originalStatusCode, 503);
    assert.equal(e.error.originalMessage, 'boom');
    assert.match(e.error.logStreamArn, /^arn:aws:logs:us-east-1:\d{12}:log-group:\/aws\/sagemaker\/Endpoints\/demo$/);
  });

  test('positional outfile receives the results; stdout stays empty', async () => {
    const dir = tempDir();
    const file = join(dir, 'out.ndjson');
    const r = await runCli([...base(), '--endpoint-name', 'demo', file], { input: 'a\nb\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.length, 0);
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number });
    assert.deepEqual(
      lines.map((l) => l.line),
      [1, 2],
    );
  });

  test('empty input: no output, exit 0', async () => {
    const r = await runCli([...base(), '--endpoint-name', 'demo'], { input: '' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.length, 0);
    assert.equal(r.stderr, '');
  });
});

describe('credentials and region', () => {
  test('from a profile in a shared credentials file, with region from the config file', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'credentials'), `[batch]\naws_access_key_id = ${ACCESS_KEY_ID}\naws_secret_access_key = ${SECRET_ACCESS_KEY}\n`);
    writeFileSync(join(dir, 'config'), '[profile batch]\nregion = us-east-1\n');
    const env = scrubbedEnv({ AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'), AWS_CONFIG_FILE: join(dir, 'config'), AWS_REGION: undefined }, false);
    const r = await runCli([...base(), '--endpoint-name', 'demo', '--profile', 'batch'], { input: 'x\n', env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.lines[0]?.ok, true);
    const viaEnv = await runCli([...base(), '--endpoint-name', 'demo'], { input: 'x\n', env: { ...env, AWS_PROFILE: 'batch' } });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
  });

  test('from a credential_process', async () => {
    const dir = tempDir();
    const script = join(dir, 'creds.sh');
    writeFileSync(script, `#!/bin/sh\necho '{"Version":1,"AccessKeyId":"${ACCESS_KEY_ID}","SecretAccessKey":"${SECRET_ACCESS_KEY}"}'\n`);
    chmodSync(script, 0o755);
    writeFileSync(join(dir, 'config'), `[profile proc]\nregion = us-east-1\ncredential_process = ${script}\n`);
    const env = scrubbedEnv({ AWS_CONFIG_FILE: join(dir, 'config'), AWS_PROFILE: 'proc' }, false);
    const r = await runCli([...base(), '--endpoint-name', 'demo'], { input: 'x\ny\n', env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      r.lines.map((l) => l.ok),
      [true, true],
    );
  });

  test('no credentials anywhere: one fatal message, exit 3, nothing on stdout', async () => {
    const r = await runCli([...base(), '--endpoint-name', 'demo'], { input: 'x\ny\n', env: scrubbedEnv({}, false) });
    assert.equal(r.code, 3);
    assert.equal(r.stdout.length, 0);
    assert.match(r.stderr, /fatal: could not get AWS credentials/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });

  test('wrong secret: InvalidSignatureException stops the run, exit 3', async () => {
    const from = emu.log.length;
    const r = await runCli([...base(), '--endpoint-name', 'demo', '--concurrency', '1'], {
      input: 'a\nb\nc\nd\n',
      env: scrubbedEnv({ AWS_SECRET_ACCESS_KEY: 'wrong' }),
    });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /^sm-invoke: fatal: InvalidSignatureException: The request signature we calculated does not match/m);
    assert.equal(r.stderr.split('\n').filter(Boolean).length, 5, 'the counts, one short message (not the canonical request), a hint, a summary, how to go on');
    assert.equal(logFor(from).length, 1, 'stops after the first rejection');
  });

  test('unknown endpoint: ValidationError stops the run, exit 3', async () => {
    const r = await runCli([...base(), '--endpoint-name', 'no-such-ep'], { input: 'a\nb\n' });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /fatal: ValidationError: Endpoint no-such-ep of account \d+ not found/);
  });

  test('an unknown endpoint named by one envelope fails only the records naming it', async () => {
    const r = await runCli([...base(), '--envelope', '--endpoint-name', 'demo', '--concurrency', '1'], {
      input: ndjson([{ body: 1 }, { body: 2, endpointName: 'gone' }, { body: 3 }, { body: 4, endpointName: 'gone' }]),
    });
    assert.equal(r.code, 1);
    assert.deepEqual(
      r.lines.map((l) => l.ok),
      [true, false, true, false],
    );
    assert.match(r.lines[3]!.error.message, /not found \(see line 2\)/);
  });

  test('no region: usage error, exit 2', async () => {
    const r = await runCli(['--endpoint-name', 'demo'], { input: 'x\n', env: scrubbedEnv({ AWS_REGION: undefined }) });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^sm-invoke: no region: give --region/);
  });

  test('AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME and AWS_DEFAULT_REGION are honoured', async () => {
    const r = await runCli(['--endpoint-name', 'demo'], {
      input: 'x\n',
      env: scrubbedEnv({ AWS_REGION: undefined, AWS_DEFAULT_REGION: 'us-east-1', AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: emu.url }),
    });
    assert.equal(r.code, 0, r.stderr);
  });
});

describe('usage errors exit 2 with one line', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--bogus'], /unknown option --bogus/],
    [['--endpoint-name', 'bad name'], /--endpoint-name must be letters, digits and hyphens/],
    [['--endpoint-name', 'a', '--concurrency', '0'], /--concurrency must be a whole number from 1 to 1024/],
    [['--endpoint-name', 'a', '--concurrency'], /^sm-invoke: option --concurrency needs a value$/],
    [['--endpoint-name', 'a', '--custom-attributes', 'x'.repeat(1025)], /--custom-attributes must be at most 1024/],
    [['--endpoint-name', 'a', '--output', 'xml'], /--output must be one of "result", "body", "openai-batch", "bedrock-batch", got "xml"/],
    [['--endpoint-name', 'a', '--endpoint-url', 'ftp://x'], /--endpoint-url must use http or https/],
    [['--endpoint-name', 'a', 'out1', 'out2'], /at most one outfile/],
    [[], /--endpoint-name is required/],
  ];
  for (const [args, message] of cases) {
    test(args.join(' ').slice(0, 60) || '(no arguments)', async () => {
      const r = await runCli(args, { input: '' });
      assert.equal(r.code, 2);
      assert.equal(r.stdout.length, 0);
      const lines = r.stderr.split('\n').filter(Boolean);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, message);
    });
  }
});

describe('--resume and earlier failures', () => {
  test('the exit status counts failures answered before the resumed run', async () => {
    const dir = tempDir();
    const file = join(dir, 'out.ndjson');
    const input = ndjson([{ body: 1 }, { body: { __emulator: { fault: 'model-error' } } }, { body: 3 }]);
    const first = await runCli([...base(), '--endpoint-name', 'demo', '--envelope', file], { input });
    assert.equal(first.code, 1);
    const lines = readFileSync(file, 'utf8').split('\n');
    writeFileSync(file, lines.slice(0, 2).join('\n') + '\n'); // as if stopped before record 3
    const resumed = await runCli([...base(), '--endpoint-name', 'demo', '--envelope', '--resume', file], { input });
    assert.equal(resumed.code, 1, 'record 2 failed in the earlier run');
    assert.match(resumed.stderr, /1 of the records answered before this run had failed \(--resume-failed sends them again\)/);
    assert.deepEqual(
      readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { ok: boolean }).ok),
      [true, false, true],
    );
  });
});
