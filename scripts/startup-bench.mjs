#!/usr/bin/env node
// Startup time of the packaged CLI against a bare `node -e 0`.
//
//   node scripts/startup-bench.mjs [--runs 40] [--warmup 5] [--json FILE] [--check] [--explain]
//
// Every command runs once per round, rounds alternate the order, each run is
// a spawnSync timed wall-clock from the parent. --check exits 1 when the
// binary's `--version` median exceeds 1.3x `node -e 0`. --explain lists what
// runs at startup: the bundled modules evaluated before main() (from the
// build's metafile) and the Node builtins it loads beyond a bare stdout write.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const TARGET_RATIO = 1.3;
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const binary = join(root, 'dist', 'sm-invoke');
const bundle = join(root, 'dist', 'sm-invoke.cjs');
const node = process.execPath;

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '40' },
    warmup: { type: 'string', default: '5' },
    json: { type: 'string' },
    check: { type: 'boolean', default: false },
    explain: { type: 'boolean', default: false },
  },
});
const runs = positiveInt('--runs', opts.runs);
const warmup = positiveInt('--warmup', opts.warmup, 0);

function positiveInt(name, value, min = 1) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    console.error(`startup-bench: ${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
    process.exit(2);
  }
  return n;
}

for (const f of [binary, bundle]) {
  if (!existsSync(f)) {
    console.error(`startup-bench: ${f} not found; run npm run build first`);
    process.exit(2);
  }
}

const cwd = mkdtempSync(join(tmpdir(), 'sm-invoke-bench-'));
// Same scrubbed env for all: no NODE_OPTIONS, nothing to pick up from a profile.
const env = { PATH: '/usr/bin:/bin', HOME: cwd, LANG: 'C' };

const cases = [
  { name: 'node -e 0', file: node, args: ['-e', '0'], baseline: true },
  { name: 'dist/sm-invoke --version', file: binary, args: ['--version'] },
  { name: 'dist/sm-invoke --help', file: binary, args: ['--help'] },
  { name: 'node dist/sm-invoke.cjs --version', file: node, args: [bundle, '--version'] },
];

try {
  if (opts.explain) explain();
  else bench();
} finally {
  rmSync(cwd, { recursive: true, force: true });
}

function runOnce(c) {
  const start = process.hrtime.bigint();
  const r = spawnSync(c.file, c.args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.error) throw r.error;
  return { ms, status: r.status };
}

function bench() {
  for (const c of cases) {
    c.samples = [];
    c.statuses = new Set();
    for (let i = 0; i < warmup; i++) runOnce(c);
  }
  for (let round = 0; round < runs; round++) {
    // Rotate the order each round so no case always runs first or last.
    for (let k = 0; k < cases.length; k++) {
      const c = cases[(round + k) % cases.length];
      const { ms, status } = runOnce(c);
      c.samples.push(ms);
      c.statuses.add(status);
    }
  }

  const base = stats(cases.find((c) => c.baseline).samples);
  const results = cases.map((c) => {
    const s = stats(c.samples);
    return {
      name: c.name,
      command: [c.file, ...c.args],
      exitCodes: [...c.statuses],
      runs: c.samples.length,
      medianMs: round2(s.median),
      p90Ms: round2(s.p90),
      minMs: round2(s.min),
      ratioMedian: round2(s.median / base.median),
      ratioP90: round2(s.p90 / base.p90),
    };
  });

  const header = ['command', 'median ms', 'p90 ms', 'min ms', 'x median', 'x p90', 'exit'];
  const rows = results.map((r) => [
    r.name,
    r.medianMs.toFixed(1),
    r.p90Ms.toFixed(1),
    r.minMs.toFixed(1),
    r.ratioMedian.toFixed(2),
    r.ratioP90.toFixed(2),
    r.exitCodes.join(','),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  console.log(`node ${process.version}, ${runs} alternating runs each after ${warmup} warm-up, ratios vs node -e 0`);
  console.log(line(header));
  for (const row of rows) console.log(line(row));

  const bin = results.find((r) => r.name === 'dist/sm-invoke --version');
  const pass = bin.ratioMedian <= TARGET_RATIO;
  console.log(`target: dist/sm-invoke --version median within ${TARGET_RATIO}x of node -e 0: ${pass ? 'PASS' : 'FAIL'} (${bin.ratioMedian}x)`);

  if (opts.json) {
    const report = { node: process.version, platform: `${process.platform}-${process.arch}`, runs, warmup, targetRatio: TARGET_RATIO, pass, results };
    writeFileSync(opts.json, JSON.stringify(report, null, 2) + '\n');
    console.log(`wrote ${opts.json}`);
  }
  if (opts.check && !pass) process.exitCode = 1;
}

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
  return { median: (s[Math.floor((s.length - 1) / 2)] + s[Math.ceil((s.length - 1) / 2)]) / 2, p90: q(0.9), min: s[0] };
}

function round2(n) {
  return Math.round(n * 100) / 100;
}

function explain() {
  const listFile = join(root, 'dist', 'startup-modules.json');
  if (existsSync(listFile)) {
    const mods = JSON.parse(readFileSync(listFile, 'utf8'));
    const kib = mods.reduce((n, m) => n + m.bytesInOutput, 0) / 1024;
    console.log(`bundled modules evaluated before main() runs (${mods.length}, ${kib.toFixed(1)} KiB of output):`);
    for (const m of mods) console.log(`  ${m.path} (${m.bytesInOutput} B)`);
  } else {
    console.log(`(no ${listFile}; run the build to list bundled startup modules)`);
  }

  // Builtins (process.moduleLoadList) loaded by the bundle but not by `node -e 0`.
  const out = join(cwd, 'loaded.json');
  const preload = join(cwd, 'preload.cjs');
  writeFileSync(preload, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(process.moduleLoadList)));\n`);
  const loaded = (args) => {
    const r = spawnSync(node, ['-r', preload, ...args], { cwd, env, stdio: 'ignore' });
    if (r.error) throw r.error;
    return new Set(JSON.parse(readFileSync(out, 'utf8')));
  };
  // The baseline writes to stdout too, so the streams behind process.stdout cancel out.
  const base = loaded(['-e', 'process.stdout.write("x\\n")']);
  for (const args of [['--version'], ['--help']]) {
    const extra = [...loaded([bundle, ...args])].filter((m) => !base.has(m));
    console.log(`node dist/sm-invoke.cjs ${args.join(' ')}: ${extra.length} builtins beyond a node that only writes to stdout`);
    for (const m of extra) console.log(`  ${m}`);
  }
}
