#!/usr/bin/env node
// The baseline for `npm run bench`: what a competent Node script would do with the official SDK.
//
//   node scripts/bench-baseline.mjs --endpoint-name NAME [--endpoint-url URL] [--region R]
//                                   [--concurrency 32] [--content-type T] < records.ndjson > results.ndjson
//
// Same contract as `sm-invoke --output result` in body mode: each input line is one request body,
// each output line is one JSON result, in input order. Fair to the SDK: one client for the whole
// run, a keep-alive NodeHttpHandler with maxSockets = concurrency, a fixed pool of `concurrency`
// workers, and a bounded reorder window (4 x concurrency, as sm-invoke) so memory stays flat.
// Credentials and region come from the SDK's default chain (AWS_* environment in the benchmark).
// Used only by scripts/bench.mjs; @aws-sdk/client-sagemaker-runtime is a devDependency.
import { Agent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { parseArgs } from 'node:util';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';

const { values: opts } = parseArgs({
  options: {
    'endpoint-name': { type: 'string' },
    'endpoint-url': { type: 'string' },
    region: { type: 'string' },
    concurrency: { type: 'string', default: '32' },
    'content-type': { type: 'string' },
  },
});
const concurrency = Number(opts.concurrency);
if (!opts['endpoint-name'] || !Number.isInteger(concurrency) || concurrency < 1) {
  process.stderr.write('usage: bench-baseline.mjs --endpoint-name NAME [--endpoint-url URL] [--region R] [--concurrency N] [--content-type T]\n');
  process.exit(2);
}
const window = concurrency * 4;

const agentOptions = { keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency };
const client = new SageMakerRuntimeClient({
  ...(opts.region ? { region: opts.region } : {}),
  ...(opts['endpoint-url'] ? { endpoint: opts['endpoint-url'] } : {}),
  // NodeHttpHandler options (the SDK builds its NodeHttpHandler from them).
  requestHandler: { httpAgent: new Agent(agentOptions), httpsAgent: new HttpsAgent(agentOptions) },
});

// --- input: lines from stdin, paused while enough are queued --------------------------------------
const queue = [];
let pending = '';
let inputDone = false;
let wakeWorkers = [];
const wake = () => {
  const w = wakeWorkers;
  wakeWorkers = [];
  for (const f of w) f();
};
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  const parts = (pending + chunk).split('\n');
  pending = parts.pop();
  for (const p of parts) queue.push(p.endsWith('\r') ? p.slice(0, -1) : p);
  if (queue.length >= window) process.stdin.pause();
  wake();
});
process.stdin.on('end', () => {
  if (pending !== '') queue.push(pending);
  inputDone = true;
  wake();
});

// --- ordered output ---------------------------------------------------------------------------------
const done = new Map(); // record index -> output line
let nextToWrite = 0;
let started = 0;
let out = '';
let failed = 0;
const flush = () => {
  while (done.has(nextToWrite)) {
    out += done.get(nextToWrite);
    done.delete(nextToWrite);
    nextToWrite++;
  }
  if (out.length >= 65536) {
    process.stdout.write(out);
    out = '';
  }
  wake();
};

async function worker() {
  for (;;) {
    // Take the next record, unless the reorder window is full or nothing is queued yet.
    while (queue.length === 0 || started - nextToWrite >= window) {
      if (queue.length === 0 && inputDone) return;
      if (queue.length < window && process.stdin.isPaused() && !inputDone) process.stdin.resume();
      await new Promise((resolve) => wakeWorkers.push(resolve));
    }
    const text = queue.shift();
    if (text.trim() === '') continue; // blank lines are not records (as in sm-invoke), and not numbered here
    const index = started++;
    if (queue.length < window && process.stdin.isPaused() && !inputDone) process.stdin.resume();
    const t0 = performance.now();
    let result;
    try {
      const res = await client.send(
        new InvokeEndpointCommand({
          EndpointName: opts['endpoint-name'],
          Body: Buffer.from(text, 'utf8'),
          ...(opts['content-type'] ? { ContentType: opts['content-type'] } : {}),
        }),
      );
      const latencyMs = Math.round((performance.now() - t0) * 100) / 100;
      const bodyText = Buffer.from(res.Body).toString('utf8');
      let body = bodyText;
      if (/json/i.test(res.ContentType ?? '')) {
        try {
          body = JSON.parse(bodyText);
        } catch {
          // keep the text
        }
      }
      result = {
        line: index + 1,
        ok: true,
        status: res.$metadata.httpStatusCode,
        contentType: res.ContentType,
        invokedProductionVariant: res.InvokedProductionVariant,
        body,
        attempts: res.$metadata.attempts,
        latencyMs,
      };
    } catch (err) {
      failed++;
      result = { line: index + 1, ok: false, error: { code: err.name, message: err.message }, attempts: err.$metadata?.attempts };
    }
    done.set(index, JSON.stringify(result) + '\n');
    flush();
  }
}

await Promise.all(Array.from({ length: concurrency }, worker));
process.stdout.write(out);
client.destroy();
process.exitCode = failed > 0 ? 1 : 0;
