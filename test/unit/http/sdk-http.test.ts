// sdk-http.ts: smithy's HttpHandler over the transport (what the credential chain's STS and SSO
// clients use), against a node:http server on 127.0.0.1.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { createSdkRequestHandler } from '../../../src/http/sdk-http.js';
import { createTransport } from '../../../src/http/transport.js';

test('a request as the SDK builds it: method, path with the query escaped, headers, body; the answer as the SDK reads it', async (t) => {
  const seen: Array<{ method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      res.setHeader('x-amzn-requestid', 'r-1');
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.end('<AssumeRoleResponse/>');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const transport = createTransport(2);
  t.after(() => {
    transport.close();
    server.close();
  });
  const handler = createSdkRequestHandler(transport.send, { connectTimeoutMs: 1000, timeoutMs: 5000 });

  const { response } = await handler.handle({
    method: 'POST',
    protocol: 'http:',
    hostname: '127.0.0.1',
    port,
    path: '/',
    query: { b: ['x y', 'z'], a: "it's*", flag: null },
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', host: `127.0.0.1:${port}` },
    body: 'Action=AssumeRole&Version=2011-06-15',
  });
  assert.equal(response.statusCode, 200);
  assert.equal(response.headers['x-amzn-requestid'], 'r-1');
  assert.equal(response.headers['set-cookie'], 'a=1, b=2');
  assert.ok(response.body instanceof Uint8Array);
  assert.equal(Buffer.from(response.body as Uint8Array).toString(), '<AssumeRoleResponse/>');
  assert.equal(seen[0]!.method, 'POST');
  assert.equal(seen[0]!.url, '/?a=it%27s%2A&b=x%20y&b=z&flag');
  assert.equal(seen[0]!.headers['content-type'], 'application/x-www-form-urlencoded');
  assert.equal(seen[0]!.headers['content-length'], '36');
  assert.equal(seen[0]!.body, 'Action=AssumeRole&Version=2011-06-15');

  // A GET without a body, and a streamed body.
  await handler.handle({ method: 'GET', protocol: 'http:', hostname: '127.0.0.1', port, path: '/token', query: {}, headers: {} });
  assert.equal(seen[1]!.url, '/token');
  assert.equal(seen[1]!.headers['content-length'], undefined);
  await handler.handle({
    method: 'PUT',
    protocol: 'http:',
    hostname: '127.0.0.1',
    port,
    path: '/s',
    query: {},
    headers: {},
    body: Readable.from([Buffer.from('ab'), 'cd']),
  });
  assert.equal(seen[2]!.body, 'abcd');
});

test('transport errors reach the SDK with their code (its retry rules read it)', async () => {
  const transport = createTransport(1);
  const handler = createSdkRequestHandler(transport.send, { connectTimeoutMs: 1000, timeoutMs: 5000 });
  const probe = http.createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  probe.close();
  await once(probe, 'close');
  await assert.rejects(
    handler.handle({ method: 'GET', protocol: 'http:', hostname: '127.0.0.1', port, path: '/', query: {}, headers: {} }),
    (e: unknown) => (e as { code?: string }).code === 'ECONNREFUSED',
  );
  transport.close();
});
