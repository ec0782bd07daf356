#!/usr/bin/env node
// Benchmarks of capacity control (scenarios 6 and 7); `npm run bench` runs it after
// scripts/bench.mjs. Not a test: wall-clock figures, reported, never asserted.
//
// 6. --concurrency auto against the emulator's capacity model (ThrottlingException beyond K requests in
//    flight, 50 ms latency): the throughput of auto vs the best fixed concurrency, throttled attempts as a
//    share of all attempts, and how the adaptive limit follows K when it changes mid-run (32 -> 8 -> 32).
// 7. --rate R: the achieved rate, from the emulator's arrival times, over 10 s windows.
//
//   node scripts/bench-control.mjs [--quick] [--only 6|7] [--json FILE]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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
    only: { type: 'string', default: '6,7' },
    json: { type: 'string', default: join(root, 'bench-results', 'control.json') },
  },
});
const only = new Set(opts.only.split(','));
const quick = opts.quick;
const env = benchEnv();

async function startEmulator(config) {
  const { url, child } = await startEmulatorProcess(BINARY, config, env);
  const admin = async (path, body) => {
    const r = await fetch(url + path, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
    return r.json();
  };
  return { url, admin, stop: () => child.kill('SIGTERM') };
}

/** Runs sm-invoke over n generated records; returns wall time, stats JSON and non-TTY progress lines. */
function runClient(url, endpoint, n, args) {
  const dir = mkdtempSync(join(tmpdir(), 'smi-bench-run-'));
  const statsFile = join(dir, 'stats.json');
  const start = Date.now();
  const child = spawn(BINARY, ['--endpoint-name', endpoint, '--endpoint-url', url, '--max-attempts', '20', '--stats-json', statsFile, ...args], {
    env,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  const progress = [];
  let err = '';
  child.stderr.on('data', (c) => {
    err += c;
    let i;
    while ((i = err.indexOf('\n')) >= 0) {
      const line = err.slice(0, i);
      err = err.slice(i + 1);
      const m = /concurrency (\d+)/.exec(line);
      if (m) progress.push({ t: (Date.now() - start) / 1000, concurrency: Number(m[1]) });
    }
  });
  (async () => {
    for (let i = 0; i < n; i++) {
      if (!child.stdin.write(`{"i":${i},"pad":"${'x'.repeat(150)}"}\n`)) await new Promise((r) => child.stdin.once('drain', r));
    }
    child.stdin.end();
  })();
  return new Promise((res) =>
    child.on('exit', (code) => {
      const wallS = (Date.now() - start) / 1000;
      res({ code, wallS, stats: JSON.parse(readFileSync(statsFile, 'utf8')), progress });
    }),
  );
}

const results = {};
const table = [];

if (only.has('6')) {
  const K = 16;
  const latency = 50;
  const n = quick ? 2000 : 6000;
  const emu = await startEmulator({ endpoints: { capped: { variants: [{ name: 'AllTraffic' }], maxConcurrency: K, latencyMs: latency } } });
  const fixed = [];
  for (const c of [8, 12, 16, 24, 32]) {
    const r = await runClient(emu.url, 'capped', n, ['--concurrency', String(c)]);
    fixed.push({ concurrency: c, recordsPerS: r.stats.recordsPerSecond, throttledShare: r.stats.throttles / r.stats.attempts });
  }
  const best = fixed.reduce((a, b) => (b.recordsPerS > a.recordsPerS ? b : a));
  const auto = await runClient(emu.url, 'capped', n, ['--concurrency', 'auto', '--max-concurrency', '128']);
  const autoRate = auto.stats.recordsPerSecond;
  const throttled = auto.stats.throttles / auto.stats.attempts;
  results.adaptive = {
    K,
    latencyMs: latency,
    records: n,
    fixed,
    best,
    auto: { recordsPerS: autoRate, throttledShare: throttled, finalConcurrency: auto.stats.concurrency },
  };
  table.push([
    '6 auto vs best fixed (K=16, 50 ms)',
    `${autoRate.toFixed(0)}/s vs ${best.recordsPerS.toFixed(0)}/s at ${best.concurrency}`,
    `${((autoRate / best.recordsPerS) * 100).toFixed(1)}% (target >= 90%)`,
  ]);
  table.push(['6 auto throttled attempts', `${(throttled * 100).toFixed(2)}%`, 'target < 5%']);

  // K changes mid-run: 32, then 8 from 5 s, then 32 again from 10 s.
  await emu.admin('/_emulator/config', {
    endpoints: {
      capped: {
        maxConcurrency: 32,
        schedule: [
          { atMs: 0, maxConcurrency: 32 },
          { atMs: 5000, maxConcurrency: 8 },
          { atMs: 10000, maxConcurrency: 32 },
        ],
      },
    },
  });
  const follow = await runClient(emu.url, 'capped', quick ? 6000 : 9000, ['--concurrency', 'auto', '--max-concurrency', '128', '--progress']);
  const settle = (from, to, pred) => follow.progress.find((p) => p.t >= from && p.t < to && pred(p.concurrency));
  const down = settle(5, 10, (c) => c <= 10);
  const up = settle(10, 30, (c) => c >= 26);
  results.adaptiveFollow = {
    timeline: follow.progress,
    downWithinS: down ? down.t - 5 : null,
    upWithinS: up ? up.t - 10 : null,
    throttledShare: follow.stats.throttles / follow.stats.attempts,
  };
  table.push(['6 follows K 32 -> 8 (at 5 s)', down ? `${(down.t - 5).toFixed(1)} s` : 'not within 5 s', 'within seconds']);
  table.push(['6 follows K 8 -> 32 (at 10 s)', up ? `${(up.t - 10).toFixed(1)} s` : 'not seen', 'within seconds']);
  emu.stop();
}

if (only.has('7')) {
  const R = 200;
  const seconds = quick ? 11 : 31;
  const emu = await startEmulator({ logLimit: 1_000_000, endpoints: { demo: { variants: [{ name: 'AllTraffic' }], latencyMs: { min: 5, max: 40 } } } });
  await runClient(emu.url, 'demo', R * seconds, ['--rate', String(R), '--concurrency', '32']);
  const log = await emu.admin('/_emulator/log');
  const times = log.map((e) => Date.parse(e.time)).sort((a, b) => a - b);
  const windows = [];
  for (let t = times[0]; t + 10_000 <= times[times.length - 1]; t += 1000) {
    const inWindow = times.filter((x) => x >= t && x < t + 10_000).length;
    windows.push(inWindow / 10);
  }
  const worst = windows.reduce((a, w) => (Math.abs(w - R) > Math.abs(a - R) ? w : a), R);
  results.rate = { R, requests: times.length, windowRates: windows, worstWindowRate: worst };
  table.push([`7 --rate ${R}: worst 10 s window`, `${worst.toFixed(1)}/s (${(((worst - R) / R) * 100).toFixed(1)}%)`, 'within 5% of R']);
  emu.stop();
}

const width = Math.max(...table.map((r) => r[0].length));
console.log('\ncapacity control');
for (const [name, value, target] of table) console.log(`  ${name.padEnd(width)}  ${value.padEnd(28)}  ${target}`);
mkdirSync(dirname(opts.json), { recursive: true });
writeFileSync(opts.json, JSON.stringify({ date: new Date().toISOString(), ...results }, null, 2) + '\n');
console.log(`\nwritten: ${opts.json}`);
