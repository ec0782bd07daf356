#!/usr/bin/env node
// Benchmark of many records per request (scenario 8); `npm run bench` runs it after the others.
// Not a test: wall-clock figures, reported, never asserted.
//
// The emulator's cost model: a request of n records takes a + b*n ms (a = 20, b = 0.5), at most K = 8
// requests in flight (ThrottlingException beyond), model lines-echo. The model's limit is
// K*n / (a + b*n) records per second. Measured: sm-invoke's records/s for --batch-size 1, 8, 32, 128 at
// --concurrency K, --concurrency auto at n = 32, the SDK baseline (one record per request, same
// concurrency: scripts/bench-baseline.mjs), and RSS over a long run at n = 32 (flat memory).
//
//   node scripts/bench-batch.mjs [--quick] [--json FILE]        (npm run build first)
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchEnv, startEmulatorProcess } from './lib/emulator.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BINARY = join(root, 'dist', 'sm-invoke');
const BASELINE = join(root, 'scripts', 'bench-baseline.mjs');
const RECORDS = join(root, 'scripts', 'bench-records.mjs');
const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'string', default: join(root, 'bench-results', 'batch.json') },
  },
});
const quick = opts.quick;
const A = 20;
const B = 0.5;
const K = 8;
const limit = (n) => (K * n * 1000) / (A + B * n);

const work = mkdtempSync(join(tmpdir(), 'smi-bench-batch-'));
const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});
const env = { ...benchEnv(work), NODE_NO_WARNINGS: '1' };

async function startEmulator() {
  const endpoint = { variants: [{ name: 'AllTraffic' }], model: 'lines-echo', maxConcurrency: K, cost: { baseMs: A, perRecordMs: B } };
  const emu = await startEmulatorProcess(BINARY, { logLimit: 0, endpoints: { batch: endpoint } }, env);
  children.add(emu.child);
  return emu;
}

const files = new Map();
function recordFile(count) {
  if (files.has(count)) return files.get(count);
  const path = join(work, `records-${count}.ndjson`);
  const fd = openSync(path, 'w');
  const child = spawn(process.execPath, [RECORDS, '--count', String(count), '--bytes', '200'], { stdio: ['ignore', fd, 'inherit'] });
  return new Promise((res) => {
    child.on('close', () => {
      closeSync(fd);
      files.set(count, path);
      res(path);
    });
  });
}

const vmRssMB = (pid) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  } catch {
    return undefined;
  }
};

/** One run over `count` records: steady records/s from the output's timing, failures, stats, RSS at line counts. */
async function run(cmd, args, count, rssAt = []) {
  const input = await recordFile(count);
  const statsFile = join(work, `stats-${process.hrtime.bigint()}.json`);
  const isSm = cmd === BINARY;
  const fd = openSync(input, 'r');
  const child = spawn(cmd, [...args, ...(isSm ? ['--stats-json', statsFile, '--max-attempts', '20'] : [])], { env, stdio: [fd, 'pipe', 'pipe'] });
  closeSync(fd);
  children.add(child);
  const t0 = performance.now();
  let lines = 0;
  let failed = 0;
  let firstAt;
  let firstLines = 0;
  let lastAt;
  let peak = 0;
  const rss = [];
  const thresholds = [...rssAt];
  const poll = setInterval(() => {
    peak = Math.max(peak, vmRssMB(child.pid) ?? 0);
  }, 100);
  let stderr = '';
  child.stderr.on('data', (d) => {
    if (stderr.length < 2000) stderr += d;
  });
  child.stdout.on('data', (chunk) => {
    const now = performance.now();
    let n = 0;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
    for (let at = chunk.indexOf('"ok":false'); at !== -1; at = chunk.indexOf('"ok":false', at + 1)) failed++;
    if (firstAt === undefined && n > 0) {
      firstAt = now;
      firstLines = n;
    }
    lines += n;
    if (n > 0) lastAt = now;
    while (thresholds.length && lines >= thresholds[0]) rss.push({ records: thresholds.shift(), rssMB: Math.round(vmRssMB(child.pid) ?? Number.NaN) });
  });
  const code = await new Promise((res) => child.on('close', res));
  clearInterval(poll);
  children.delete(child);
  const wallS = (performance.now() - t0) / 1000;
  const rps = lastAt > firstAt ? (lines - firstLines) / ((lastAt - firstAt) / 1000) : lines / wallS;
  let stats;
  try {
    stats = JSON.parse(readFileSync(statsFile, 'utf8'));
  } catch {
    stats = undefined;
  }
  const out = { records: lines, failed, exitCode: code, wallS: +wallS.toFixed(2), rps: Math.round(rps), peakRssMB: Math.round(peak) };
  if (stats) Object.assign(out, { meanBatchSize: stats.meanBatchSize, attempts: stats.attempts, throttles: stats.throttles });
  if (rss.length) out.rssAt = rss;
  if (lines !== count || code !== 0)
    out.problem = `${lines}/${count} lines, exit ${code}${stderr ? `: ${stderr.trim().split('\n').slice(-2).join(' | ')}` : ''}`;
  return out;
}

const server = await startEmulator();
const base = ['--endpoint-name', 'batch', '--endpoint-url', server.url, '--content-type', 'application/json'];
const seconds = quick ? 3 : 8;
const report = { date: new Date().toISOString(), quick, model: { a: A, b: B, K }, runs: [] };
console.log(`[8] many records per request: emulator cost a + b*n = ${A} + ${B}n ms, K = ${K}${quick ? ', --quick' : ''}`);
const show = (label, n, r) => {
  const pct = n ? ` = ${((100 * r.rps) / limit(n)).toFixed(1)}% of the model's ${Math.round(limit(n))}/s` : '';
  console.log(
    `  ${label.padEnd(34)} ${String(r.rps).padStart(6)} rec/s${pct}${r.meanBatchSize !== undefined ? `, mean batch ${r.meanBatchSize}` : ''}${r.throttles ? `, ${r.throttles} throttled of ${r.attempts}` : ''}, peak ${r.peakRssMB} MB${r.problem ? `  ! ${r.problem}` : ''}`,
  );
};
try {
  const baseCount = Math.round(limit(1) * seconds);
  const b = await run(process.execPath, [BASELINE, ...base, '--concurrency', String(K)], baseCount);
  report.runs.push({ client: 'baseline', n: 1, concurrency: K, limit: Math.round(limit(1)), ...b });
  show(`SDK baseline, n=1, c=${K}`, 1, b);
  for (const n of [1, 8, 32, 128]) {
    const count = Math.round(limit(n) * seconds);
    const r = await run(BINARY, [...base, '--concurrency', String(K), '--batch-size', String(n)], count);
    report.runs.push({ client: 'sm-invoke', n, concurrency: K, limit: Math.round(limit(n)), share: +(r.rps / limit(n)).toFixed(3), ...r });
    show(`sm-invoke --batch-size ${n}, c=${K}`, n, r);
  }
  const autoCount = Math.round(limit(32) * seconds * 1.5);
  const auto = await run(BINARY, [...base, '--concurrency', 'auto', '--batch-size', '32'], autoCount);
  report.runs.push({ client: 'sm-invoke', n: 32, concurrency: 'auto', limit: Math.round(limit(32)), share: +(auto.rps / limit(32)).toFixed(3), ...auto });
  show('sm-invoke --batch-size 32, c=auto', 32, auto);
  const longCount = quick ? 100_000 : 1_000_000;
  const long = await run(BINARY, [...base, '--concurrency', String(K), '--batch-size', '32'], longCount, [longCount / 10, longCount / 2, longCount - 1]);
  report.runs.push({
    client: 'sm-invoke',
    n: 32,
    concurrency: K,
    long: true,
    limit: Math.round(limit(32)),
    share: +(long.rps / limit(32)).toFixed(3),
    ...long,
  });
  show(`sm-invoke n=32, ${longCount / 1000}k records`, 32, long);
  console.log(`    RSS ${long.rssAt?.map((x) => `${x.records / 1000}k: ${x.rssMB} MB`).join(', ')}`);
} finally {
  server.stop();
}
mkdirSync(dirname(opts.json), { recursive: true });
writeFileSync(opts.json, JSON.stringify(report, null, 2) + '\n');
console.log(`wrote ${opts.json}`);
