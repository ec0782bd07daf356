#!/usr/bin/env node
// Benchmark of --async (InvokeEndpointAsync); `npm run bench` runs it after the others. Not a test:
// wall-clock figures, reported, never asserted.
//
// The emulator's async queue: K = 8 workers on the endpoint, each job 200 ms (cost model baseMs 200),
// outputs written to a real S3-compatible server (s3rver, started here on 127.0.0.1). The queue's
// limit is K / 0.2 s = 40 records/s. Measured for sm-invoke --async (default --async-max-pending
// 1000, --concurrency 8, default polling): records/s against that limit, the tool's S3 requests per
// record (uploads, HEAD polls, GETs; target <= 4 on average), and peak RSS; for inline inputs over
// 10,000 records and for inputs uploaded to S3 (--async-input-mode s3) over 2,000.
//
//   node scripts/bench-async.mjs [--quick] [--json FILE]        (npm run build first)
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchEnv, startEmulatorProcess } from './lib/emulator.mjs';
import { startS3rver } from './lib/s3rver.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BINARY = join(root, 'dist', 'sm-invoke');
const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'string', default: join(root, 'bench-results', 'async.json') },
  },
});
const K = 8;
const JOB_MS = 200;
const LIMIT = (K * 1000) / JOB_MS;
const INLINE = opts.quick ? 1_000 : 10_000;
const UPLOAD = opts.quick ? 400 : 2_000;

const work = mkdtempSync(join(tmpdir(), 'smi-bench-async-'));
const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});
const KEYS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

mkdirSync(join(work, 's3'));
const s3 = await startS3rver({ directory: join(work, 's3'), buckets: ['inputs', 'outputs'] });
const s3url = s3.url;

const env = { ...benchEnv(join(work)), ...KEYS, AWS_ENDPOINT_URL_S3: s3url, NODE_NO_WARNINGS: '1' };
const emu = await startEmulatorProcess(
  BINARY,
  {
    logLimit: 0,
    credentials: [{ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }],
    endpoints: { queue: { variants: [{ name: 'AllTraffic' }], cost: { baseMs: JOB_MS, perRecordMs: 0 } } },
    async: { outputPath: 's3://outputs/out', failurePath: 's3://outputs/failed', s3EndpointUrl: s3url, workers: K },
  },
  env,
);
children.add(emu.child);

const vmRssMB = (pid) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  } catch {
    return undefined;
  }
};

async function run(label, count, extra) {
  const input = join(work, `in-${count}.ndjson`);
  writeFileSync(input, Array.from({ length: count }, (_, i) => JSON.stringify({ id: i + 1, text: `record ${i + 1}` })).join('\n') + '\n');
  const out = join(work, `out-${label}.ndjson`);
  const statsFile = join(work, `stats-${label}.json`);
  const args = ['--endpoint-url', emu.url, '--endpoint-name', 'queue', '--async', '--s3-path-style', '--stats-json', statsFile, ...extra, out];
  const fd = openSync(input, 'r');
  const t0 = performance.now();
  const child = spawn(BINARY, args, { env, stdio: [fd, 'ignore', 'pipe'] });
  closeSync(fd);
  children.add(child);
  let peak = 0;
  const poll = setInterval(() => {
    peak = Math.max(peak, vmRssMB(child.pid) ?? 0);
  }, 100);
  let stderr = '';
  child.stderr.on('data', (d) => {
    if (stderr.length < 4000) stderr += d;
  });
  const code = await new Promise((res) => child.on('close', res));
  clearInterval(poll);
  children.delete(child);
  const wallS = (performance.now() - t0) / 1000;
  const stats = JSON.parse(readFileSync(statsFile, 'utf8'));
  const a = stats.async;
  const rps = count / wallS;
  const result = {
    label,
    records: count,
    exitCode: code,
    ok: stats.ok,
    wallS: +wallS.toFixed(1),
    recordsPerSecond: +rps.toFixed(1),
    ofQueueLimit: +(rps / LIMIT).toFixed(3),
    s3RequestsPerRecord: +(a.s3Requests / count).toFixed(2),
    uploaded: a.uploaded,
    peakRssMB: Math.round(peak),
  };
  if (code !== 0 || stats.ok !== count) result.problem = stderr.trim().split('\n').slice(-3).join(' | ');
  return result;
}

console.log(`async queue: K = ${K} workers x ${JOB_MS} ms a job = ${LIMIT} records/s at most; S3: s3rver on 127.0.0.1`);
const results = [];
for (const [label, count, extra] of [
  ['inline', INLINE, []],
  ['uploaded', UPLOAD, ['--async-input', 's3://inputs/bench/', '--async-input-mode', 's3']],
]) {
  const r = await run(label, count, extra);
  results.push(r);
  console.log(
    `  ${label.padEnd(8)} ${String(count).padStart(6)} records: ${r.recordsPerSecond} records/s (${(r.ofQueueLimit * 100).toFixed(1)}% of ${LIMIT}), ` +
      `${r.s3RequestsPerRecord} S3 requests/record, peak RSS ${r.peakRssMB} MB, ${r.wallS} s${r.problem ? `  PROBLEM: ${r.problem}` : ''}`,
  );
}
emu.stop();
await s3.close();
mkdirSync(dirname(opts.json), { recursive: true });
writeFileSync(opts.json, JSON.stringify({ date: new Date().toISOString(), K, jobMs: JOB_MS, limit: LIMIT, results }, null, 2) + '\n');
