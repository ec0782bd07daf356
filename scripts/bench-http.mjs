#!/usr/bin/env node
// CPU per request of the HTTP layer alone, three ways, against one server at a fixed number of
// requests in flight: the tool's transport (undici dispatch() with its own handler), undici's
// request() (its promise API, body read with arrayBuffer()), and node:http with a keep-alive agent.
// Same 200 B POST, same answer, same Node. Not a test; needs `npm run build` (dist/lib).
//
//   node scripts/bench-http.mjs [--url http://127.0.0.1:PORT] [--requests 20000] [--inflight 32] [--rounds 3] [--body-bytes 200]
//
// Without --url a plain node:http server answering {"predictions":[0.5]} runs in a child process
// (nginx is better: start one and pass --url). Reports the median over rounds of process CPU
// (user+sys from process.cpuUsage) per request, in microseconds.
import { fork } from 'node:child_process';
import http from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: o } = parseArgs({
  options: {
    url: { type: 'string' },
    requests: { type: 'string', default: '20000' },
    inflight: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '3' },
    'body-bytes': { type: 'string', default: '200' },
    serve: { type: 'boolean', default: false },
  },
});

if (o.serve) {
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end('{"predictions":[0.5]}');
    });
  });
  server.listen(0, '127.0.0.1', () => process.send(server.address().port));
} else {
  let child;
  let url = o.url;
  if (url === undefined) {
    child = fork(fileURLToPath(import.meta.url), ['--serve']);
    url = `http://127.0.0.1:${await new Promise((r) => child.once('message', r))}`;
  }
  const target = new URL(url);
  const N = Number(o.requests);
  const K = Number(o.inflight);
  const body = Buffer.from(JSON.stringify({ inputs: 'x'.repeat(Math.max(0, Number(o['body-bytes']) - 13)) }));
  const headers = { host: target.host, 'content-type': 'application/json', 'content-length': String(body.length) };
  const path = '/endpoints/demo/invocations';

  const { createTransport } = await import(join(root, 'dist/lib/src/http/transport.js'));
  const { Pool } = await import('undici');

  const clients = {
    'transport (dispatch handler)': () => {
      const t = createTransport(K);
      const req = { method: 'POST', protocol: 'http:', hostname: target.hostname, port: Number(target.port), path, headers, body };
      const opts = { timeoutMs: 10_000, connectTimeoutMs: 5_000 };
      return { one: async () => (await t.send(req, opts)).body.length, close: () => t.close() };
    },
    'undici request()': () => {
      const pool = new Pool(target.origin, { connections: K });
      return {
        one: async () => {
          const res = await pool.request({ method: 'POST', path, headers, body });
          return (await res.body.arrayBuffer()).byteLength;
        },
        close: () => pool.destroy(),
      };
    },
    'node:http (keep-alive agent)': () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: K });
      return {
        one: () =>
          new Promise((resolveOne, reject) => {
            const req = http.request({ agent, method: 'POST', host: target.hostname, port: target.port, path, headers }, (res) => {
              const chunks = [];
              res.on('data', (c) => chunks.push(c));
              res.on('end', () => resolveOne(Buffer.concat(chunks).length));
            });
            req.on('error', reject);
            req.end(body);
          }),
        close: () => agent.destroy(),
      };
    },
  };

  async function measure(make) {
    const c = make();
    for (let i = 0; i < Math.min(500, N); i++) await c.one(); // warm-up and connections
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: K }, async () => {
        while (next++ < N) await c.one();
      }),
    );
    const cpu = process.cpuUsage(cpu0);
    const ms = performance.now() - t0;
    c.close();
    return { usPerRequest: (cpu.user + cpu.system) / N, rps: (N * 1000) / ms };
  }

  const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const results = {};
  for (let r = 0; r < Number(o.rounds); r++) {
    for (const [name, make] of Object.entries(clients)) {
      (results[name] ??= []).push(await measure(make));
    }
  }
  console.log(`${N} requests, ${K} in flight, ${url}, node ${process.version}, median of ${o.rounds} alternating rounds`);
  for (const [name, runs] of Object.entries(results)) {
    console.log(
      `${name.padEnd(30)} ${median(runs.map((x) => x.usPerRequest))
        .toFixed(1)
        .padStart(6)} us CPU/request  ${median(runs.map((x) => x.rps))
        .toFixed(0)
        .padStart(6)} req/s`,
    );
  }
  child?.kill();
}
