#!/usr/bin/env node
// Benchmark of response streaming (scenario 10); `npm run bench` runs it after the others.
// Not a test: wall-clock figures, reported, never asserted (the targets are printed as met or not).
//
// N records over the emulator's TGI token model (50 tokens, first token after 200 ms, 20 ms between
// tokens, each delay +- 5 ms: one PayloadPart each) at concurrency 64 and 256: sm-invoke --stream against the SDK v3
// script doing the same calls (scripts/bench-stream-sdk.mjs). Reported: records/s against the ideal
// c / (ttft + 49 * itl), CPU per record and per part, peak RSS, and how far sm-invoke's firstByteMs is
// from the emulator's own first-part time (its log, from the request's arrival) at the median.
// Records/s is taken over the emulator's span (the first request's arrival to the last part sent: the
// client's process start and exit are not part of a throughput); the wall-clock rate is shown too.
// Targets: >= 97% of the ideal at c = 64, >= 90% at c = 256, <= 0.5x the SDK's CPU per record,
// firstByteMs within 2 ms of the emulator's first-part time at the median.
//
//   node scripts/bench-stream.mjs [--quick] [--json FILE]        (npm run build first)
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchEnv, startEmulatorProcess } from './lib/emulator.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BINARY = join(root, 'dist', 'sm-invoke');
const SDK = join(root, 'scripts', 'bench-stream-sdk.mjs');
const TIME = '/usr/bin/time';
const { values: opts } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, json: { type: 'string', default: join(root, 'bench-results', 'stream.json') } },
});
const TOKENS = 50;
const TTFT = 200;
const ITL = 20;
/** Each delay +- up to this (uniform): the streams drift apart as real ones do, instead of ending in lockstep bursts. */
const JITTER = 5;
const ROUNDS = opts.quick ? 2 : 10;
const ideal = (c) => (c * 1000) / (TTFT + (TOKENS - 1) * ITL);

const work = mkdtempSync(join(tmpdir(), 'smi-bench-stream-'));
const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});
const env = { ...benchEnv(work), NODE_NO_WARNINGS: '1' };
const r1 = (x) => Math.round(x * 10) / 10;
const r3 = (x) => Math.round(x * 1000) / 1000;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Runs `cmd args` under /usr/bin/time with `input` on stdin: its stdout, wall seconds, CPU ms, peak RSS MB. */
function timed(cmd, args, input) {
  return new Promise((resolveRun, reject) => {
    const timeFile = join(work, `time-${process.hrtime.bigint()}.txt`);
    const t0 = performance.now();
    const child = spawn(TIME, ['-f', '%e %U %S %M', '-o', timeFile, cmd, ...args], { env, cwd: work, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    const out = [];
    let err = '';
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => {
      if (err.length < 4000) err += c;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      children.delete(child);
      const wallS = (performance.now() - t0) / 1000;
      const [, user, sys, maxKb] = readFileSync(timeFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
      resolveRun({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: err, wallS, cpuMs: (user + sys) * 1000, peakRssMB: r1(maxKb / 1024) });
    });
    child.stdin.end(input);
  });
}

const CLK_TCK = 100;
/** A process's CPU time so far (user + system), ms. */
function procCpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}

async function adminGet(url, path) {
  const res = await fetch(`${url}${path}`);
  return res.json();
}

async function scenario(emu, c) {
  const n = c * ROUNDS;
  const input =
    Array.from({ length: n }, (_, i) => JSON.stringify({ inputs: `record ${i + 1}: what is deep learning?`, parameters: { max_new_tokens: TOKENS } })).join(
      '\n',
    ) + '\n';
  const out = {};
  for (const client of ['sm-invoke', 'sdk']) {
    await fetch(`${emu.url}/_emulator/reset`, { method: 'POST' });
    const args =
      client === 'sm-invoke'
        ? [
            BINARY,
            ['--endpoint-url', emu.url, '--endpoint-name', 'tok', '--stream', '--concurrency', String(c), '--content-type', 'application/json', '--no-stats'],
          ]
        : [process.execPath, [SDK, '--endpoint-url', emu.url, '--endpoint-name', 'tok', '--concurrency', String(c)]];
    const emuCpu0 = procCpuMs(emu.child.pid);
    const run = await timed(args[0], args[1], input);
    const emuCpuMs = procCpuMs(emu.child.pid) - emuCpu0;
    const results = run.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const ok = results.filter((r) => r.ok).length;
    const parts = results.reduce((a, r) => a + (r.stream?.parts ?? 0), 0);
    // The emulator's first-part time for each record (its body names the record).
    const log = await adminGet(emu.url, '/_emulator/log');
    const truth = new Map();
    let first = Infinity;
    let last = -Infinity;
    for (const e of log) {
      if (e.stream?.firstPartMs === undefined) continue;
      truth.set(Buffer.from(e.body, 'base64').toString('utf8'), e.stream.firstPartMs);
      first = Math.min(first, e.stream.firstPartAt - e.stream.firstPartMs);
      last = Math.max(last, e.stream.lastPartAt);
    }
    const lines = input.split('\n');
    const diffs = results.filter((r) => r.ok && truth.has(lines[r.line - 1])).map((r) => r.stream.firstByteMs - truth.get(lines[r.line - 1]));
    const rps = (n * 1000) / (last - first);
    out[client] = {
      records: results.length,
      ok,
      exitCode: run.code,
      wallS: r3(run.wallS),
      rps: r1(rps),
      wallRps: r1(n / run.wallS),
      ofIdeal: r3(rps / ideal(c)),
      cpuMsPerRecord: r3(run.cpuMs / n),
      cpuUsPerPart: r1((run.cpuMs * 1000) / Math.max(1, parts)),
      peakRssMB: run.peakRssMB,
      emulatorCpuUsPerPart: r1((emuCpuMs * 1000) / Math.max(1, parts)),
      firstByteMinusEmulatorMs: { median: r1(median(diffs)), p90: r1(median(diffs.filter((d) => d >= median(diffs)))) },
    };
    if (ok !== n) out[client].problem = `${ok}/${n} ok; stderr: ${run.stderr.trim().split('\n').slice(-2).join(' | ')}`;
    const o = out[client];
    console.log(
      `  c=${String(c).padStart(3)} ${client.padEnd(9)} ${String(o.rps).padStart(6)} rec/s (${(o.ofIdeal * 100).toFixed(1)}% of ideal ${r1(ideal(c))}; wall ${o.wallRps})  ${o.cpuMsPerRecord} ms CPU/rec  ${o.cpuUsPerPart} us CPU/part (emulator ${o.emulatorCpuUsPerPart})  ${o.peakRssMB} MB  firstByteMs - emulator: median ${o.firstByteMinusEmulatorMs.median} ms${o.problem ? `  ! ${o.problem}` : ''}`,
    );
  }
  const sm = out['sm-invoke'];
  out.targets = {
    ofIdeal: { value: sm.ofIdeal, target: c <= 64 ? 0.97 : 0.9, pass: sm.ofIdeal >= (c <= 64 ? 0.97 : 0.9) },
    cpuVsSdk: { value: r3(sm.cpuMsPerRecord / out.sdk.cpuMsPerRecord), target: 0.5, pass: sm.cpuMsPerRecord <= 0.5 * out.sdk.cpuMsPerRecord },
    firstByteWithin2ms: { value: sm.firstByteMinusEmulatorMs.median, target: 2, pass: Math.abs(sm.firstByteMinusEmulatorMs.median) <= 2 },
  };
  return { concurrency: c, records: n, idealRps: r1(ideal(c)), ...out };
}

const emu = await startEmulatorProcess(
  BINARY,
  { endpoints: { tok: { stream: { model: 'tgi', tokens: TOKENS, firstTokenMs: TTFT, interTokenMs: ITL, jitterMs: JITTER } } } },
  env,
);
children.add(emu.child);
console.log(
  `scenario 10: response streaming, ${TOKENS} tokens, first token ${TTFT} ms, ${ITL} ms between tokens (+-${JITTER} ms), ${ROUNDS} rounds of c records (${cpus().length} CPUs)`,
);
const scenarios = [];
try {
  for (const c of [64, 256]) scenarios.push(await scenario(emu, c));
} finally {
  emu.stop();
}
for (const s of scenarios) {
  for (const [k, t] of Object.entries(s.targets))
    console.log(`  c=${s.concurrency} target ${k}: ${t.value} (target ${t.target}) ${t.pass ? 'met' : 'NOT met'}`);
}
mkdirSync(dirname(opts.json), { recursive: true });
writeFileSync(
  opts.json,
  JSON.stringify({ when: new Date().toISOString(), tokens: TOKENS, ttftMs: TTFT, itlMs: ITL, jitterMs: JITTER, rounds: ROUNDS, scenarios }, null, 2) + '\n',
);
console.log(`results: ${opts.json}`);
