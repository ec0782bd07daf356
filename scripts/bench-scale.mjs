#!/usr/bin/env node
// Scale-out benchmark; `npm run bench` runs it after bench-control.mjs. Not a test: wall-clock
// figures, reported, never asserted.
//
// 1, 2 and 4 processes, each `--shard I/P --concurrency auto`, against one emulator endpoint that
// serves K requests at a time (ThrottlingException beyond, 50 ms latency), on one input; and, for
// reference, one process at the best fixed concurrency (K). Reported: total records/s, each
// process's share of the total (1.00 = fair), Jain's index over the processes' rates, throttled
// attempts as a share of all attempts, failed records.
//
//   node scripts/bench-scale.mjs [--quick] [--records N] [--capacity K] [--json FILE]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchEnv, startEmulatorProcess } from './lib/emulator.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BINARY = join(root, 'dist', 'sm-invoke');
const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    records: { type: 'string' },
    capacity: { type: 'string', default: '16' },
    json: { type: 'string', default: join(root, 'bench-results', 'scale.json') },
  },
});
const K = Number(opts.capacity);
const N = Number(opts.records ?? (opts.quick ? 4000 : 16000));
const LATENCY = 50;
const env = benchEnv();
const dir = mkdtempSync(join(tmpdir(), 'smi-bench-scale-'));
const input = join(dir, 'in.ndjson');
writeFileSync(input, Array.from({ length: N }, (_, i) => `{"i":${i},"pad":"${'x'.repeat(150)}"}\n`).join(''));

function startEmulator() {
  return startEmulatorProcess(BINARY, { endpoints: { capped: { variants: [{ name: 'AllTraffic' }], maxConcurrency: K, latencyMs: LATENCY } } }, env);
}

/** One process of a run: its stats JSON and wall time. */
function runProcess(url, name, args) {
  const stats = join(dir, `${name}.stats.json`);
  const out = join(dir, `${name}.ndjson`);
  const start = Date.now();
  const child = spawn(BINARY, ['--endpoint-name', 'capped', '--endpoint-url', url, '--stats-json', stats, '--force', ...args, out], {
    env,
    stdio: [readFileFd(), 'ignore', 'inherit'],
  });
  return new Promise((res) => child.on('exit', (code) => res({ code, wallS: (Date.now() - start) / 1000, stats: JSON.parse(readFileSync(stats, 'utf8')) })));
}

function readFileFd() {
  return openSync(input, 'r');
}

const jain = (xs) => xs.reduce((a, b) => a + b, 0) ** 2 / (xs.length * xs.reduce((a, b) => a + b * b, 0));

async function scenario(url, label, processes, extra) {
  const start = Date.now();
  const runs = await Promise.all(
    Array.from({ length: processes }, (_, i) => runProcess(url, `${label}-${i}`, [...(processes > 1 ? ['--shard', `${i}/${processes}`] : []), ...extra])),
  );
  const wallS = (Date.now() - start) / 1000;
  const rates = runs.map((r) => r.stats.recordsPerSecond);
  const attempts = runs.reduce((a, r) => a + r.stats.attempts, 0);
  const throttles = runs.reduce((a, r) => a + r.stats.throttles, 0);
  const failed = runs.reduce((a, r) => a + r.stats.failed, 0);
  const total = runs.reduce((a, r) => a + r.stats.ok + r.stats.failed, 0);
  return {
    label,
    processes,
    recordsPerS: total / wallS,
    shares: rates.map((r) => r / (rates.reduce((a, b) => a + b, 0) / processes)),
    jain: jain(rates),
    throttledShare: throttles / attempts,
    failed,
    exitCodes: runs.map((r) => r.code),
  };
}

const emu = await startEmulator();
const rows = [];
try {
  rows.push(await scenario(emu.url, `fixed-${K}`, 1, ['--concurrency', String(K)]));
  for (const p of [1, 2, 4]) rows.push(await scenario(emu.url, `auto-x${p}`, p, ['--concurrency', 'auto', '--max-concurrency', '128']));
} finally {
  emu.stop();
}
const ref = rows[0].recordsPerS;
console.log(`\nscale-out: ${N} records, one endpoint of capacity K=${K} (${LATENCY} ms), processes with --shard I/P`);
console.log('  run                      records/s  vs fixed K   shares (1.00 = fair)      Jain    throttled  failed');
for (const r of rows) {
  const name = r.label.startsWith('fixed') ? `1 process, --concurrency ${K}` : `${r.processes} x --concurrency auto`;
  console.log(
    `  ${name.padEnd(24)} ${r.recordsPerS.toFixed(0).padStart(9)}  ${((r.recordsPerS / ref) * 100).toFixed(1).padStart(8)}%   ${r.shares
      .map((s) => s.toFixed(2))
      .join(' ')
      .padEnd(24)}  ${r.jain.toFixed(3)}  ${(r.throttledShare * 100).toFixed(2).padStart(7)}%  ${String(r.failed).padStart(6)}`,
  );
}
mkdirSync(dirname(opts.json), { recursive: true });
writeFileSync(opts.json, JSON.stringify({ date: new Date().toISOString(), K, latencyMs: LATENCY, records: N, rows }, null, 2) + '\n');
console.log(`\nwritten: ${opts.json}`);
