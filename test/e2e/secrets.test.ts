// The run's secrets by value, wherever a message quotes them: a service (or anything on the way)
// that repeats the session token, the secret key or the request's signature in free text, and a
// proxy URL that does not even parse. Through the built executable: stdout, stderr and the results
// file never hold them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BINARY, runCli, scrubbedEnv, tempDir } from '../helpers/cli.js';
import { bodyOf, rawServer, type RawServer } from '../helpers/raw-server.js';

const KEY_ID = 'ASIAFREETEXTEXAMPLE1';
const SECRET = 'freeTextSecret/EXAMPLE+0123456789abcdefgh';
const TOKEN = 'IQoJb3JpZ2luX2VjFreeText/Session+Token0123456789abcdefghijklmnop==';

const env = (extra: Record<string, string> = {}): Record<string, string> =>
  scrubbedEnv({ AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET, AWS_SESSION_TOKEN: TOKEN, ...extra });

/** Every signature the server saw. */
const seen: string[] = [];

function header(request: string, name: string): string {
  return new RegExp(`\\r\\n${name}: *([^\\r]*)`, 'i').exec(request)?.[1] ?? '';
}

function answer(status: number, errorType: string | undefined, body: string): string {
  const head = [`HTTP/1.1 ${status} X`, 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`, 'x-amzn-RequestId: r-1'];
  if (errorType !== undefined) head.push(`x-amzn-ErrorType: ${errorType}:http://internal.amazon.com/coral/com.amazon.coral.service/`);
  return `${head.join('\r\n')}\r\n\r\n${body}`;
}

let server: RawServer;
before(async () => {
  server = await rawServer((socket, request) => {
    const token = header(request, 'x-amz-security-token');
    const signature = /Signature=([0-9a-f]{64})/.exec(header(request, 'authorization'))?.[1] ?? '';
    seen.push(signature);
    // Free text, no header name in front: "...token IQoJ... (key ...), signed abc..."
    const quote = `we got token ${token} (url-encoded ${encodeURIComponent(token)}) and key ${SECRET}, signed ${signature}.`;
    const body = bodyOf(request);
    if (body.includes('validation')) socket.write(answer(400, 'ValidationError', JSON.stringify({ message: quote })));
    else if (body.includes('model'))
      socket.write(
        answer(424, 'ModelError', JSON.stringify({ ErrorCode: 'CLIENT_ERROR_FROM_MODEL', Message: quote, OriginalMessage: quote, OriginalStatusCode: 400 })),
      );
    else socket.write(answer(200, undefined, '{"ok":1}'));
  });
});
after(() => server.close());

function assertClean(bytes: Buffer | string, what: string): void {
  const text = bytes.toString();
  for (const [name, secret] of [
    ['session token', TOKEN],
    ['url-encoded session token', encodeURIComponent(TOKEN)],
    ['secret key', SECRET],
    ...seen.map((s) => ['signature', s] as const),
  ] as const) {
    assert.equal(text.indexOf(secret), -1, `${what}: the ${name} is written nowhere:\n${text.slice(0, 2000)}`);
  }
}

describe('secrets quoted in free text', () => {
  test('results and stderr (plain, --debug, --output body): the values are <redacted>, the rest of the message kept', async () => {
    const input = '{"x":"validation"}\n{"x":"model"}\n{"x":"fine"}\n';
    for (const extra of [[], ['--debug'], ['--output', 'body']]) {
      const out = join(tempDir(), 'out.ndjson');
      const r = await runCli(['--endpoint-name', 'demo', '--endpoint-url', server.url, '--max-attempts', '1', ...extra, out], {
        command: BINARY,
        input,
        env: env(),
      });
      assert.equal(r.code, 1, r.stderr);
      const file = readFileSync(out, 'utf8');
      assertClean(file, `${extra.join(' ')} results`);
      assertClean(r.stderr, `${extra.join(' ')} stderr`);
      assertClean(r.stdout, `${extra.join(' ')} stdout`);
      if (extra.length === 0) {
        const lines = file
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { error?: { message: string; originalMessage?: string } });
        assert.match(lines[0]!.error!.message, /^we got token <redacted> \(url-encoded <redacted>\) and key <redacted>, signed <redacted>\.$/);
        assert.match(lines[1]!.error!.originalMessage!, /token <redacted>.*signed <redacted>/);
      }
    }
    assert.ok(seen.length >= 9 && seen.every((s) => s.length === 64), 'the server did see the signatures');
  });

  test('--body (the AWS CLI-style call prints the whole message)', async () => {
    const out = join(tempDir(), 'out.json');
    const r = await runCli(['--endpoint-name', 'demo', '--endpoint-url', server.url, '--max-attempts', '1', '--body', '{"x":"validation"}', out], {
      command: BINARY,
      env: env(),
    });
    assert.equal(r.code, 254, r.stderr);
    assert.match(r.stderr, /An error occurred \(ValidationError\).*we got token <redacted>/);
    assertClean(Buffer.concat([r.stdout, Buffer.from(r.stderr)]), '--body');
  });
});

describe('a proxy URL that does not parse', () => {
  for (const [what, url, password] of [
    ['a slash in the password', 'http://bob:Secr3t/Pw@127.0.0.1:1', 'Secr3t/Pw'],
    ['a space in the password (and a bad port)', 'http://bob:Secr3t Pw@127.0.0.1:1x', 'Secr3t Pw'],
    ['no scheme, a slash in the password', 'bob:Secr3t/Pw@127.0.0.1:1', 'Secr3t/Pw'],
  ] as const) {
    test(`${what}: a usage error that never shows the user info`, async () => {
      const r = await runCli(['--endpoint-name', 'demo', '--endpoint-url', 'http://127.0.0.1:9'], {
        command: BINARY,
        input: '{}\n',
        env: env({ HTTP_PROXY: url }),
      });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /HTTP_PROXY is not a proxy URL: "(http:\/\/)?\*\*\*@127\.0\.0\.1:1x?"/);
      for (const part of [password, ...password.split(/[/ @]/).filter((p) => p.length >= 3)])
        assert.ok(!r.stderr.includes(part), `${JSON.stringify(part)} in ${r.stderr}`);
    });
  }
});
