#!/usr/bin/env node
// The streaming benchmark's baseline (scripts/bench-stream.mjs): what a competent Node script does
// with the official SDK's InvokeEndpointWithResponseStreamCommand. Each input line is one request
// body; each output line one JSON result, in input order: the parts' bytes concatenated as the body,
// the part count and the time to the first part. One client, a keep-alive NodeHttpHandler with
// maxSockets = concurrency, `concurrency` workers. (The input is read whole: benchmark inputs are small.)
//
//   node scripts/bench-stream-sdk.mjs --endpoint-name NAME --endpoint-url URL --concurrency N < in > out
import { Agent } from 'node:http';
import { parseArgs } from 'node:util';
import { InvokeEndpointWithResponseStreamCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';

const { values: opts } = parseArgs({
  options: {
    'endpoint-name': { type: 'string' },
    'endpoint-url': { type: 'string' },
    concurrency: { type: 'string', default: '64' },
    'content-type': { type: 'string', default: 'application/json' },
  },
});
const concurrency = Number(opts.concurrency);
const agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
const client = new SageMakerRuntimeClient({ endpoint: opts['endpoint-url'], requestHandler: { httpAgent: agent }, maxAttempts: 1 });

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const lines = Buffer.concat(chunks)
  .toString('utf8')
  .split('\n')
  .filter((l) => l.trim() !== '');

const results = new Array(lines.length);
let next = 0;
let written = 0;
const flush = () => {
  let out = '';
  while (written < lines.length && results[written] !== undefined) {
    out += results[written];
    results[written] = null;
    written++;
  }
  if (out) process.stdout.write(out);
};

async function worker() {
  while (next < lines.length) {
    const i = next++;
    const t0 = performance.now();
    let r;
    try {
      const res = await client.send(
        new InvokeEndpointWithResponseStreamCommand({
          EndpointName: opts['endpoint-name'],
          Body: Buffer.from(lines[i], 'utf8'),
          ContentType: opts['content-type'],
        }),
      );
      const parts = [];
      let firstByteMs;
      for await (const ev of res.Body) {
        if (ev.PayloadPart?.Bytes) {
          firstByteMs ??= Math.round((performance.now() - t0) * 10) / 10;
          parts.push(ev.PayloadPart.Bytes);
        }
      }
      const body = Buffer.concat(parts).toString('utf8');
      r = {
        line: i + 1,
        ok: true,
        contentType: res.ContentType,
        body,
        stream: { firstByteMs, parts: parts.length },
        latencyMs: Math.round(performance.now() - t0),
      };
    } catch (err) {
      r = { line: i + 1, ok: false, error: { code: err.name, message: err.message } };
    }
    results[i] = `${JSON.stringify(r)}\n`;
    flush();
  }
}

await Promise.all(Array.from({ length: Math.min(concurrency, lines.length) }, worker));
client.destroy();
