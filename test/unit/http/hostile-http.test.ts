// The whole pipeline (real signer, undici transport, retries) against a hostile HTTP server: a raw
// node:net server whose answers are malformed, or who speaks while nobody asked. No record may come
// out ok:true with wrong data; each malformed answer is a transient error that is retried.
import assert from 'node:assert/strict';
import type net from 'node:net';
import { test } from 'node:test';
import { runPipeline } from '../../../src/core/pipeline.js';
import { latin1Lines, pipelineHarness } from '../../helpers/pipeline.js';
import { bodyOf, rawServer } from '../../helpers/raw-server.js';

const GOOD = (body: string): string => `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

const MALFORMED: Record<string, string> = {
  'conflicting Content-Length': 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\nContent-Length: 2\r\n\r\n{"bad":1}',
  'Content-Length with Transfer-Encoding':
    'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n{"bad":1}\r\n0\r\n\r\n',
  'invalid header name': 'HTTP/1.1 200 OK\r\nContent(Type): application/json\r\nContent-Length: 9\r\n\r\n{"bad":1}',
  'obs-fold': 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-A: a\r\n\tb\r\nContent-Length: 9\r\n\r\n{"bad":1}',
  'NUL in a header value': 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-A: a\0\r\nContent-Length: 9\r\n\r\n{"bad":1}',
  'bare CR in a header value': 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-A: a\rb\r\nContent-Length: 9\r\n\r\n{"bad":1}',
};

/** Answers each request with `answer(requestBody, n)`; n counts requests over all connections. */
function hostileServer(answer: (body: string, n: number, socket: net.Socket) => string | undefined) {
  return rawServer((socket, request, n) => {
    const reply = answer(bodyOf(request), n, socket);
    if (reply !== undefined) socket.write(reply, 'latin1');
  });
}

async function run(url: string, bodies: string[], maxAttempts = 3) {
  const h = pipelineHarness(url, { concurrency: 2, defaults: { endpointName: 'demo', contentType: 'application/json' } });
  try {
    const summary = await runPipeline({ ...h.init, lines: latin1Lines(bodies), maxAttempts, random: () => 0, sleep: async () => undefined });
    return {
      results: h.out
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, any>),
      summary,
    };
  } finally {
    h.transport.close();
  }
}

for (const [what, reply] of Object.entries(MALFORMED)) {
  test(`${what}: retried as transient; every ok result carries its own record's answer`, async (t) => {
    // Each record's first attempt gets the malformed answer, a later one the right one.
    const seen = new Set<string>();
    const server = await hostileServer((body) => {
      if (seen.has(body)) return GOOD(JSON.stringify({ echo: JSON.parse(body) }));
      seen.add(body);
      return reply;
    });
    t.after(() => server.close());
    const bodies = Array.from({ length: 6 }, (_, i) => JSON.stringify({ i }));
    const { results } = await run(server.url, bodies);
    assert.equal(results.length, 6);
    for (const [i, r] of results.entries()) {
      if (r.ok) assert.deepEqual(r.body, { echo: { i } }, `line ${i + 1} is ok with its own answer`);
      else assert.match(r.error.code, /^(HPE_|UND_ERR_)/, `line ${i + 1}: ${JSON.stringify(r.error)}`);
      assert.notDeepEqual(r.body, { bad: 1 });
    }
    assert.ok(
      results.every((r) => r.ok && r.attempts === 2),
      'each malformed answer was retried once, then answered properly',
    );
  });
}

test('always malformed: the records fail as transient errors after --max-attempts, none ok', async (t) => {
  const server = await hostileServer(() => MALFORMED['conflicting Content-Length']);
  t.after(() => server.close());
  const { results, summary } = await run(server.url, ['{"a":1}', '{"a":2}'], 2);
  assert.equal(results.length, 2);
  for (const r of results) {
    assert.equal(r.ok, false);
    assert.equal(r.attempts, 2);
    assert.match(r.error.code, /^(HPE_|UND_ERR_)/);
  }
  assert.equal(summary.ok, 0);
  assert.equal(server.connections(), 4, 'no connection that carried a malformed answer was used again');
});

test("an answer pushed on an idle keep-alive connection is never taken for the next record's", async (t) => {
  const server = await hostileServer((body, n, socket) => {
    // After the first answer, the server pushes a stray "answer" while the connection is idle.
    if (n === 1) setTimeout(() => socket.write(GOOD('{"stray":true}')), 20);
    return GOOD(JSON.stringify({ echo: JSON.parse(body) }));
  });
  t.after(() => server.close());
  const h = pipelineHarness(server.url, { concurrency: 1, defaults: { endpointName: 'demo' } });
  t.after(() => h.transport.close());
  const first = await runPipeline({ ...h.init, lines: latin1Lines(['{"i":1}']) });
  await new Promise((r) => setTimeout(r, 80));
  const second = await runPipeline({ ...h.init, lines: latin1Lines(['{"i":2}']) });
  assert.equal(first.ok + second.ok, 2);
  const results = h.out
    .join('')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, any>);
  assert.deepEqual(
    results.map((r) => r.body),
    [{ echo: { i: 1 } }, { echo: { i: 2 } }],
  );
  assert.equal(server.connections(), 2);
});
