#!/usr/bin/env node
// `npm run bench`: sm-invoke against a baseline written with @aws-sdk/client-sagemaker-runtime
// (scripts/bench-baseline.mjs), same records, same concurrency, ordered output, alternating runs.
//
//   npm run bench                         # build, then every scenario (about 15 minutes)
//   node scripts/bench.mjs --quick        # smaller counts, about a minute (npm run build first)
//   node scripts/bench.mjs --only 1,4     # some scenarios: 1 zero-work, 2 latency, 3 memory, 4 1mb, 5 startup
//   node scripts/bench.mjs --compare /tmp/sm-invoke-old   # also run another sm-invoke binary (before/after)
//   node scripts/bench.mjs --profile      # scenario 1 once under `node --cpu-prof`, top self time by source
//
// What is measured, per client process: records/s (steady state: output lines between the first
// and the last output chunk, over that time), CPU ms per record (user+sys of the process, from
// /usr/bin/time, over all records, start-up included), peak RSS (/usr/bin/time %M), p50/p99 of
// the latencyMs each output line carries, and the ratio sm-invoke/baseline. Medians of the rounds.
// sm-invoke runs as the packaged binary dist/sm-invoke (what users run); --profile uses
// dist/sm-invoke.cjs, the same bundle, under plain node.
//
// The zero-work endpoint is nginx (Debian package nginx-light or nginx), started here on
// 127.0.0.1:<free port> with a temp prefix and a fixed JSON reply; without it, scenarios 1 and 4
// use the emulator and scenario 3 says so, and the results record which server was used.
// The emulator is `node dist/sm-invoke.cjs emulate`. Its own ceiling at each concurrency of
// scenario 2 is measured with a minimal client (requests signed before the clock starts, written
// over raw keep-alive sockets), so that the emulator's limits are not taken for the client's.
//
// Not a test: `.ci/run` must not run this (it runs `npm test` only). The figures are wall-clock
// and CPU measurements that depend on the machine and its load, take minutes, and need nginx;
// targets are reported as PASS/SHORT here and in bench-results/latest.json, never asserted.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SourceMap } from 'node:module';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BINARY = join(root, 'dist', 'sm-invoke');
const BUNDLE = join(root, 'dist', 'sm-invoke.cjs');
const BASELINE = join(root, 'scripts', 'bench-baseline.mjs');
const RECORDS = join(root, 'scripts', 'bench-records.mjs');
const STARTUP = join(root, 'scripts', 'startup-bench.mjs');
const TIME = '/usr/bin/time';
const KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const NGINX_REPLY = '{"predictions":[0.5]}';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    rounds: { type: 'string' },
    json: { type: 'string', default: join(root, 'bench-results', 'latest.json') },
    compare: { type: 'string' },
    profile: { type: 'boolean', default: false },
  },
});
const quick = opts.quick;
const rounds = Number(opts.rounds ?? (quick ? 2 : 3));
const only = new Set((opts.only ?? '1,2,3,4,5').split(',').map((s) => s.trim()));

for (const f of [BINARY, BUNDLE]) {
  if (!existsSync(f)) fail(`${f} not found: run npm run build (npm run bench does)`);
}
if (!existsSync(TIME)) fail(`${TIME} not found: apt-get install time (it measures CPU and peak RSS of each run)`);

const work = mkdtempSync(join(tmpdir(), 'sm-invoke-bench-'));
const children = new Set();
const cleanup = () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
};
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));

const env = {
  PATH: '/usr/bin:/bin',
  HOME: work, // no ~/.aws: credentials and region come from here only
  LANG: 'C',
  AWS_ACCESS_KEY_ID: KEY_ID,
  AWS_SECRET_ACCESS_KEY: SECRET,
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
};
// The SDK prints a Node-version support notice on every start; keep stderr for real problems.
const baselineEnv = { ...env, NODE_NO_WARNINGS: '1' };

const CLIENTS = [
  { name: 'sm-invoke', cmd: (a) => [BINARY, ...a.smArgs], env },
  ...(opts.compare ? [{ name: 'sm-invoke@compare', cmd: (a) => [resolve(opts.compare), ...a.smArgs], env }] : []),
  { name: 'baseline', cmd: (a) => [process.execPath, BASELINE, ...a.baseArgs], env: baselineEnv },
];

const report = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: `${cpus().length} x ${cpus()[0]?.model ?? '?'}`,
  loadavgStart: loadavg().map((n) => +n.toFixed(2)),
  quick,
  rounds,
  compare: opts.compare ?? null,
  scenarios: {},
};

// ---------------------------------------------------------------------------------------------
// helpers

function fail(msg) {
  console.error(`bench: ${msg}`);
  process.exit(2);
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

const median = (xs) => {
  const s = xs.filter((x) => x !== undefined && !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return undefined;
  return (s[Math.floor((s.length - 1) / 2)] + s[Math.ceil((s.length - 1) / 2)]) / 2;
};
const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] : undefined);
const r2 = (n) => (n === undefined ? undefined : Math.round(n * 100) / 100);
const r3 = (n) => (n === undefined ? undefined : Math.round(n * 1000) / 1000);
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** utime+stime of a pid in ms, from /proc (10 ms resolution). */
function procCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}

function vmRssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The process /usr/bin/time started (its only child). */
function childOf(pid) {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return kids.length ? Number(kids[0]) : undefined;
  } catch {
    return undefined;
  }
}

/** Writes `count` records of `bytes` to a file (once per shape) and returns its path. */
const recordFiles = new Map();
function recordFile(count, bytes) {
  const key = `${count}x${bytes}`;
  if (recordFiles.has(key)) return recordFiles.get(key);
  const path = join(work, `records-${key}.ndjson`);
  const fd = openSync(path, 'w');
  const r = spawnSync(process.execPath, [RECORDS, '--count', String(count), '--bytes', String(bytes)], { stdio: ['ignore', fd, 'inherit'] });
  closeSync(fd);
  if (r.status !== 0) fail(`could not generate ${key} records`);
  recordFiles.set(key, path);
  return path;
}

/**
 * Runs one client over the input under /usr/bin/time; reads its stdout as it comes: line count,
 * failures, latencyMs values, RSS when the line count crosses each of `rssAt`.
 */
function runClient(client, args, input, { expect, rssAt = [], latencies = true, label }) {
  return new Promise((resolveRun, rejectRun) => {
    const timeFile = join(work, `time-${process.hrtime.bigint()}.txt`);
    const [file, ...rest] = client.cmd(args);
    let stdin = 'ignore';
    let gen;
    if (input.file) stdin = openSync(input.file, 'r');
    else {
      gen = spawn(process.execPath, [RECORDS, '--count', String(input.count), '--bytes', String(input.bytes)], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.add(gen);
      stdin = gen.stdout;
    }
    const t0 = performance.now();
    const child = spawn(TIME, ['-f', '%e %U %S %M', '-o', timeFile, file, ...rest], { stdio: [stdin, 'pipe', 'pipe'], env: client.env, cwd: work });
    children.add(child);
    if (typeof stdin === 'number') closeSync(stdin);
    let pid;
    const findPid = () => (pid ??= childOf(child.pid));
    let lines = 0;
    let failed = 0;
    let firstAt;
    let firstLines = 0;
    let lastAt;
    const lat = latencies ? new Float64Array(expect) : undefined;
    let partial = '';
    const rss = [];
    const thresholds = [...rssAt].sort((a, b) => a - b);
    let stderr = '';
    let peakPoll = 0;
    const poll = setInterval(() => {
      const p = findPid();
      if (p) peakPoll = Math.max(peakPoll, vmRssKb(p) ?? 0);
    }, 100);
    child.stdout.on('data', (chunk) => {
      const now = performance.now();
      let n = 0;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
      if (firstAt === undefined && n > 0) {
        firstAt = now;
        firstLines = lines + n;
      }
      if (n > 0) lastAt = now;
      if (latencies) {
        const text = partial + chunk.toString('latin1');
        const parts = text.split('\n');
        partial = parts.pop();
        for (const line of parts) {
          if (line.includes('"ok":false')) failed++;
          const at = line.lastIndexOf('"latencyMs":');
          if (at !== -1 && lines < expect) lat[lines] = parseFloat(line.slice(at + 12));
          lines++;
        }
      } else {
        for (let at = chunk.indexOf('"ok":false'); at !== -1; at = chunk.indexOf('"ok":false', at + 1)) failed++;
        lines += n;
      }
      while (thresholds.length && lines >= thresholds[0]) {
        rss.push({ records: thresholds.shift(), linesSeen: lines, rssMB: r2((vmRssKb(findPid()) ?? NaN) / 1024) });
      }
    });
    child.stderr.on('data', (d) => {
      if (stderr.length < 4000) stderr += d;
    });
    child.on('error', rejectRun);
    child.on('close', (code) => {
      clearInterval(poll);
      children.delete(child);
      if (gen) children.delete(gen);
      const wallS = (performance.now() - t0) / 1000;
      let timeOut = '';
      try {
        timeOut = readFileSync(timeFile, 'utf8').trim().split('\n').pop();
      } catch {
        /* reported below */
      }
      const [, user, sys, maxKb] = timeOut.split(' ').map(Number);
      const cpuMs = (user + sys) * 1000;
      const sorted = lat ? Array.from(lat.subarray(0, Math.min(lines, expect))).sort((a, b) => a - b) : [];
      const steadyRps = lastAt > firstAt ? (lines - firstLines) / ((lastAt - firstAt) / 1000) : undefined;
      const run = {
        client: client.name,
        exitCode: code,
        records: lines,
        failed,
        wallS: r3(wallS),
        rps: r2(steadyRps ?? lines / wallS),
        wallRps: r2(lines / wallS),
        cpuMsPerRecord: lines ? r3(cpuMs / lines) : undefined,
        cpuMs: r2(cpuMs),
        peakRssMB: r2(maxKb / 1024),
        p50Ms: r2(percentile(sorted, 0.5)),
        p99Ms: r2(percentile(sorted, 0.99)),
      };
      if (rssAt.length) run.rssAt = rss;
      const problems = [];
      if (lines !== expect) problems.push(`${lines}/${expect} lines`);
      if (failed) problems.push(`${failed} failed records`);
      if (code !== 0) problems.push(`exit ${code}`);
      if (problems.length) {
        run.problem = problems.join(', ');
        console.log(`  ! ${label} ${client.name}: ${run.problem}${stderr ? `; stderr: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`);
      }
      resolveRun(run);
    });
  });
}

/** Rounds of every client, alternating (and rotating who goes first), medians per client. */
async function compareClients(label, args, input, expect, extra = {}) {
  const runs = Object.fromEntries(CLIENTS.map((c) => [c.name, []]));
  const n = extra.rounds ?? rounds;
  for (let round = 0; round < n; round++) {
    for (let k = 0; k < CLIENTS.length; k++) {
      const c = CLIENTS[(round + k) % CLIENTS.length];
      if (extra.skip?.(c)) continue;
      const before = extra.serverPid ? procCpuMs(extra.serverPid) : undefined;
      const run = await runClient(c, args, typeof input === 'function' ? input(c) : input, {
        expect: extra.expectFor?.(c) ?? expect,
        label,
        rssAt: extra.rssAt?.(c),
        latencies: extra.latencies ?? true,
      });
      if (extra.serverPid) run.serverCpuMsPerRecord = r3((procCpuMs(extra.serverPid) - before) / Math.max(1, run.records));
      runs[c.name].push(run);
      console.log(
        `  ${label} round ${round + 1} ${c.name.padEnd(17)} ${fmt(run.rps, 0).padStart(7)} rec/s  ${fmt(run.cpuMsPerRecord, 3)} ms CPU/rec  ${fmt(run.peakRssMB, 0)} MB  p50 ${fmt(run.p50Ms)} p99 ${fmt(run.p99Ms)} ms`,
      );
    }
  }
  const summary = {};
  for (const [name, rs] of Object.entries(runs)) {
    if (rs.length === 0) continue;
    const m = (k) => median(rs.map((r) => r[k]));
    summary[name] = {
      rps: r2(m('rps')),
      cpuMsPerRecord: r3(m('cpuMsPerRecord')),
      peakRssMB: r2(m('peakRssMB')),
      p50Ms: r2(m('p50Ms')),
      p99Ms: r2(m('p99Ms')),
      wallS: r3(m('wallS')),
      records: rs[0].records,
      ...(rs[0].serverCpuMsPerRecord !== undefined ? { serverCpuMsPerRecord: r3(m('serverCpuMsPerRecord')) } : {}),
      ...(rs.some((r) => r.problem) ? { problems: rs.filter((r) => r.problem).map((r) => r.problem) } : {}),
    };
  }
  const sm = summary['sm-invoke'];
  const base = summary.baseline;
  if (sm && base) {
    summary.ratio = {
      rps: r2(sm.rps / base.rps),
      cpuMsPerRecord: r3(sm.cpuMsPerRecord / base.cpuMsPerRecord),
      peakRssMB: r2(sm.peakRssMB / base.peakRssMB),
    };
  }
  return { summary, runs };
}

const fmt = (n, d = 1) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(d));

// ---------------------------------------------------------------------------------------------
// servers

function findNginx() {
  for (const p of ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx']) {
    if (existsSync(p)) return p;
  }
  return undefined;
}

async function waitForPort(port, ms = 5000) {
  const { connect } = await import('node:net');
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise((res) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        res(true);
      });
      s.once('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listening on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** nginx in the foreground, one worker, everything under a temp prefix; a fixed JSON reply. */
async function startNginx() {
  const bin = findNginx();
  if (!bin) return undefined;
  const port = await freePort();
  const prefix = join(work, 'nginx');
  mkdirSync(join(prefix, 'logs'), { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off;
master_process off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  client_max_body_size 0;
  server {
    listen 127.0.0.1:${port};
    location /endpoints/ {
      default_type application/json;
      add_header x-Amzn-Invoked-Production-Variant AllTraffic always;
      return 200 '${NGINX_REPLY}';
    }
  }
}
`,
  );
  const proc = spawn(bin, ['-p', prefix, '-c', conf, '-e', join(prefix, 'logs', 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(proc);
  let err = '';
  proc.stderr.on('data', (d) => {
    err += d;
  });
  try {
    await waitForPort(port);
  } catch (e) {
    proc.kill('SIGKILL');
    throw new Error(`nginx did not start: ${err.trim() || e.message}`);
  }
  const v = spawnSync(bin, ['-v'], { encoding: 'utf8' });
  return {
    kind: 'nginx',
    version: (v.stderr || v.stdout).trim().replace(/^nginx version: /, ''),
    url: `http://127.0.0.1:${port}`,
    pid: proc.pid,
    stop: () =>
      new Promise((r) => {
        proc.once('close', r);
        proc.kill('SIGTERM');
        children.delete(proc);
      }),
  };
}

/** `sm-invoke emulate` with a fixed latency and no request log (it would hold 100k entries). */
async function startEmulator(latencyMs) {
  const cfg = join(work, `emulator-${latencyMs}.json`);
  writeFileSync(cfg, JSON.stringify({ logLimit: 0 }));
  const proc = spawn(process.execPath, [BUNDLE, 'emulate', '--port', '0', '--latency-ms', String(latencyMs), '--quiet', '--config', cfg], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  children.add(proc);
  const url = await new Promise((res, rej) => {
    let out = '';
    const t = setTimeout(() => rej(new Error(`emulator did not start: ${out}`)), 10_000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(t);
        res(m[1]);
      }
    });
    proc.on('close', (code) => {
      clearTimeout(t);
      rej(new Error(`emulator exited ${code}`));
    });
  });
  proc.stderr.resume();
  return {
    kind: 'emulator',
    version: `sm-invoke emulate --latency-ms ${latencyMs}`,
    url,
    pid: proc.pid,
    stop: () =>
      new Promise((r) => {
        proc.removeAllListeners('close');
        proc.once('close', r);
        proc.kill('SIGTERM');
        children.delete(proc);
      }),
  };
}

const clientArgs = (url, concurrency) => ({
  smArgs: ['--endpoint-name', 'demo', '--endpoint-url', url, '--concurrency', String(concurrency), '--content-type', 'application/json'],
  baseArgs: ['--endpoint-name', 'demo', '--endpoint-url', url, '--concurrency', String(concurrency), '--content-type', 'application/json'],
});

// ---------------------------------------------------------------------------------------------
// scenarios

async function zeroWorkServer() {
  const ngx = await startNginx().catch((e) => {
    console.log(`  nginx failed to start (${e.message}); falling back to the emulator`);
    return undefined;
  });
  if (ngx) return ngx;
  console.log('  nginx not found (apt-get install nginx-light): using the emulator at 0 ms instead; its own CPU per request caps these figures');
  return startEmulator(0);
}

async function scenario1() {
  const count = quick ? 5_000 : 20_000;
  console.log(`\n[1] zero-work endpoint: ${count} records of 200 B, concurrency 32`);
  const server = await zeroWorkServer();
  try {
    const input = { file: recordFile(count, 200) };
    const res = await compareClients('s1', clientArgs(server.url, 32), input, count, { serverPid: server.pid });
    const r = res.summary.ratio;
    return {
      title: 'zero-work endpoint, 200 B records, concurrency 32',
      server: server.kind,
      serverVersion: server.version,
      records: count,
      concurrency: 32,
      ...res,
      targets: r && {
        rpsAtLeast5x: { value: r.rps, pass: r.rps >= 5 },
        cpuAtMostOneFifth: { value: r.cpuMsPerRecord, pass: r.cpuMsPerRecord <= 0.2 },
      },
    };
  } finally {
    await server.stop();
  }
}

async function scenario2() {
  const latency = 50;
  console.log(`\n[2] emulator at ${latency} ms: concurrency 32 and 128`);
  const server = await startEmulator(latency);
  try {
    const out = { title: `emulator at ${latency} ms latency`, server: 'emulator', latencyMs: latency, byConcurrency: {} };
    for (const c of [32, 128]) {
      const ideal = (c * 1000) / latency;
      const count = Math.round(ideal * (quick ? 3 : 10)); // ~3 s / ~10 s at the ideal rate
      const file = recordFile(count, 200);
      // The emulator's own ceiling at this concurrency, so that it is not mistaken for the client's:
      // the same records, signed beforehand, over c keep-alive sockets and nothing else.
      const ceiling = await rawCeiling(server, file, c);
      console.log(
        `  concurrency ${c}: ideal ${ideal} rec/s; emulator ceiling ${fmt(ceiling.rps, 0)} rec/s (pre-signed raw client, p50 ${fmt(ceiling.p50Ms)} ms; emulator ${fmt(ceiling.emulatorCpuMsPerRequest, 3)} ms CPU/request)`,
      );
      const res = await compareClients(`s2/c${c}`, clientArgs(server.url, c), { file }, count, { serverPid: server.pid });
      const bound = Math.min(ideal, ceiling.rps);
      for (const [name, s] of Object.entries(res.summary)) {
        if (name === 'ratio') continue;
        s.efficiency = r3(s.rps / ideal);
        s.efficiencyOfCeiling = r3(s.rps / bound);
      }
      const want = c === 32 ? 0.97 : 0.95;
      const sm = res.summary['sm-invoke'];
      out.byConcurrency[c] = {
        idealRps: ideal,
        records: count,
        ceiling,
        ...res,
        target: sm && {
          want,
          efficiency: sm.efficiency,
          efficiencyOfCeiling: sm.efficiencyOfCeiling,
          ceilingBelowIdeal: ceiling.rps < ideal * want,
          pass: sm.efficiency >= want || (ceiling.rps < ideal && sm.efficiencyOfCeiling >= want),
        },
      };
    }
    return out;
  } finally {
    await server.stop();
  }
}

/**
 * A minimal client: every record signed before the clock starts (with sm-invoke's signer, from
 * dist/lib), then written over `concurrency` keep-alive sockets, one request at a time each;
 * responses framed by Content-Length. What it reaches is the server's ceiling at that concurrency.
 */
async function rawCeiling(server, file, concurrency) {
  const { createSigner } = await import(join(root, 'dist', 'lib', 'src', 'aws', 'sign.js'));
  const { buildRequest, parseTarget } = await import(join(root, 'dist', 'lib', 'src', 'core', 'request.js'));
  const { connect } = await import('node:net');
  const target = parseTarget(server.url);
  const sign = createSigner({ credentials: async () => ({ accessKeyId: KEY_ID, secretAccessKey: SECRET }), region: 'us-east-1' });
  const lines = readFileSync(file, 'latin1')
    .split('\n')
    .filter((l) => l !== '');
  const date = new Date();
  const wire = [];
  for (let i = 0; i < lines.length; i++) {
    const body = Buffer.from(lines[i], 'latin1');
    const req = await sign(buildRequest({ line: i + 1, fields: { endpointName: 'demo', contentType: 'application/json' }, body }, target), date);
    let head = `${req.method} ${req.path} HTTP/1.1\r\n`;
    for (const [k, v] of Object.entries(req.headers)) head += `${k}: ${v}\r\n`;
    wire.push(Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), body]));
  }
  const count = wire.length;
  const lat = new Float64Array(count);
  let next = 0;
  let done = 0;
  let failed = 0;
  let firstAt = 0;
  let lastAt = 0;
  const sockets = [];
  const cpu0 = procCpuMs(server.pid);
  await new Promise((resolveAll, rejectAll) => {
    for (let k = 0; k < Math.min(concurrency, count); k++) {
      const s = connect(target.port, target.hostname);
      sockets.push(s);
      s.setNoDelay(true);
      let buf = Buffer.alloc(0);
      let sentAt = 0;
      const send = () => {
        if (next >= count) return;
        next++;
        sentAt = performance.now();
        s.write(wire[next - 1]);
      };
      s.on('connect', send);
      s.on('error', rejectAll);
      s.on('data', (d) => {
        buf = buf.length ? Buffer.concat([buf, d]) : d;
        for (;;) {
          const he = buf.indexOf('\r\n\r\n');
          if (he === -1) return;
          const m = /content-length: *(\d+)/i.exec(buf.toString('latin1', 0, he));
          const len = m ? Number(m[1]) : 0;
          if (buf.length < he + 4 + len) return;
          if (buf.toString('latin1', 9, 12) !== '200') failed++;
          buf = buf.subarray(he + 4 + len);
          lastAt = performance.now();
          if (done === 0) firstAt = lastAt;
          lat[done++] = lastAt - sentAt;
          if (done === count) resolveAll();
          else send();
        }
      });
    }
  });
  for (const sock of sockets) sock.destroy();
  const sorted = Array.from(lat).sort((a, b) => a - b);
  return {
    // Steady state, as for the clients: completions after the first, over the time since it.
    concurrency,
    records: count,
    failed,
    rps: r2((count - 1) / ((lastAt - firstAt) / 1000)),
    p50Ms: r2(percentile(sorted, 0.5)),
    p99Ms: r2(percentile(sorted, 0.99)),
    emulatorCpuMsPerRequest: r3((procCpuMs(server.pid) - cpu0) / count),
  };
}

async function scenario3() {
  const count = quick ? 100_000 : 1_000_000;
  const early = count / 10;
  const baseCount = quick ? 10_000 : 100_000;
  console.log(`\n[3] memory: ${count} records of 200 B streamed from a generator, concurrency 32 (baseline: ${baseCount})`);
  const server = await zeroWorkServer();
  try {
    // One round: this is about memory over a long run; the baseline is run to a tenth of the count
    // (at its ~1k records/s a million takes a quarter of an hour) and sampled at a tenth of that too.
    const res = await compareClients('s3', clientArgs(server.url, 32), (c) => ({ count: c.name === 'baseline' ? baseCount : count, bytes: 200 }), count, {
      rounds: 1,
      latencies: false,
      serverPid: server.pid,
      expectFor: (c) => (c.name === 'baseline' ? baseCount : count),
      rssAt: (c) => (c.name === 'baseline' ? [baseCount / 10, baseCount] : [early, count]),
    });
    return finish3(res, server, count, early, baseCount);
  } finally {
    await server.stop();
  }
}

function finish3(res, server, count, early, baseCount) {
  const sm = res.runs['sm-invoke'][0];
  const at = (n) => sm.rssAt.find((x) => x.records === n)?.rssMB;
  const rEarly = at(early);
  const rLate = at(count);
  return {
    title: `${count} records streamed, RSS over the run`,
    server: server.kind,
    records: count,
    baselineRecords: baseCount,
    concurrency: 32,
    ...res,
    targets: {
      peakUnder80MB: { value: sm.peakRssMB, pass: sm.peakRssMB < 80 },
      growthWithin10pct: { early: rEarly, late: rLate, value: r3(rLate / rEarly - 1), pass: Math.abs(rLate / rEarly - 1) <= 0.1 },
    },
  };
}

async function scenario4() {
  const MB = 1 << 20;
  const count = quick ? 64 : 256;
  const concurrency = 8;
  console.log(`\n[4] 1 MB bodies: hashing micro-benchmark, then ${count} records of 1 MiB at concurrency ${concurrency}`);
  const micro = await hashMicro(MB);
  const server = await zeroWorkServer();
  let res;
  try {
    res = await compareClients('s4', clientArgs(server.url, concurrency), { file: recordFile(count, MB) }, count, { serverPid: server.pid });
  } finally {
    await server.stop();
  }
  return {
    title: '1 MiB bodies: hashing cost',
    server: server.kind,
    records: count,
    concurrency,
    micro,
    ...res,
    target: { want: 'signing a 1 MiB request costs <= 1.2x native SHA-256 of 1 MiB', value: micro.signOverNative, pass: micro.signOverNative <= 1.2 },
  };
}

/** In-process: native SHA-256 vs @aws-crypto/sha256-js over 1 MiB, and sm-invoke's signer on a 1 MiB request. */
async function hashMicro(size) {
  const { Sha256 } = await import('@aws-crypto/sha256-js');
  const { SignatureV4 } = await import('@smithy/signature-v4');
  const { createSigner } = await import(join(root, 'dist', 'lib', 'src', 'aws', 'sign.js'));
  const body = Buffer.alloc(size, 0x61);
  const credentials = async () => ({ accessKeyId: KEY_ID, secretAccessKey: SECRET });
  const request = {
    method: 'POST',
    protocol: 'https:',
    hostname: 'runtime.sagemaker.us-east-1.amazonaws.com',
    port: undefined,
    path: '/endpoints/demo/invocations',
    headers: { host: 'runtime.sagemaker.us-east-1.amazonaws.com', 'content-length': String(size), 'content-type': 'application/json', 'user-agent': 'bench' },
    body,
  };
  const time = async (n, fn) => {
    for (let i = 0; i < Math.max(2, n / 5); i++) await fn(); // warm-up
    const samples = [];
    for (let k = 0; k < 5; k++) {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await fn();
      samples.push((performance.now() - t0) / n);
    }
    return r3(median(samples));
  };
  const sign = createSigner({ credentials, region: 'us-east-1' });
  const smithyJs = new SignatureV4({ service: 'sagemaker', region: 'us-east-1', credentials, sha256: Sha256, uriEscapePath: true });
  const native = await time(40, () => createHash('sha256').update(body).digest('hex'));
  const js = await time(4, async () => {
    const h = new Sha256();
    h.update(body);
    await h.digest();
  });
  const signMs = await time(40, () => sign(request, new Date()));
  const smithyJsMs = await time(4, () => smithyJs.sign({ ...request, query: {} }, { signingDate: new Date() }));
  const hmacMs = await time(2000, () => createHmac('sha256', 'k').update('x'.repeat(300)).digest('hex'));
  const out = {
    bytes: size,
    nativeSha256Ms: native,
    sha256JsMs: js,
    jsOverNative: r2(js / native),
    smInvokeSignMs: signMs,
    signOverNative: r2(signMs / native),
    smithySha256JsSignMs: smithyJsMs,
    nativeHmacSmallMs: hmacMs,
  };
  console.log(
    `  SHA-256 of 1 MiB: native ${native} ms, @aws-crypto/sha256-js ${js} ms (${out.jsOverNative}x); sm-invoke sign() of a 1 MiB request ${signMs} ms (${out.signOverNative}x native); @smithy/signature-v4 + sha256-js hashing the body itself ${smithyJsMs} ms`,
  );
  return out;
}

async function scenario5() {
  console.log('\n[5] binary start-up vs node -e 0 (scripts/startup-bench.mjs)');
  const file = join(work, 'startup.json');
  const r = spawnSync(process.execPath, [STARTUP, '--runs', quick ? '10' : '30', '--json', file], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0 || !existsSync(file)) return { title: 'start-up', problem: `startup-bench exited ${r.status}` };
  const s = JSON.parse(readFileSync(file, 'utf8'));
  const get = (name) => s.results.find((x) => x.name === name);
  const v = get('dist/sm-invoke --version');
  const h = get('dist/sm-invoke --help');
  return {
    title: 'binary start-up vs node -e 0',
    results: s.results,
    targets: {
      version: { value: v?.ratioMedian, pass: v !== undefined && v.ratioMedian <= 1.3 },
      help: { value: h?.ratioMedian, pass: h !== undefined && h.ratioMedian <= 1.3 },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// --profile: scenario 1 once under --cpu-prof, self time mapped back to src/ via the source map

async function profile() {
  const count = quick ? 5_000 : 20_000;
  const server = await zeroWorkServer();
  const dir = join(work, 'prof');
  try {
    const client = { name: 'sm-invoke --cpu-prof', cmd: (a) => [process.execPath, '--cpu-prof', '--cpu-prof-dir', dir, BUNDLE, ...a.smArgs], env };
    const run = await runClient(client, clientArgs(server.url, 32), { file: recordFile(count, 200) }, { expect: count, label: 'profile' });
    console.log(`profile: ${count} records, ${fmt(run.rps, 0)} rec/s, ${fmt(run.cpuMsPerRecord, 3)} ms CPU/record (profiler overhead included)`);
  } finally {
    await server.stop();
  }
  const prof = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]), 'utf8'));
  const map = new SourceMap(JSON.parse(readFileSync(`${BUNDLE}.map`, 'utf8')));
  const self = new Map();
  let total = 0;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const counts = new Map();
  prof.samples.forEach((id, i) => {
    counts.set(id, (counts.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
  });
  for (const [id, us] of counts) {
    const cf = byId.get(id).callFrame;
    total += us;
    let where = cf.url ? cf.url.replace(/^.*\//, '') : '';
    let name = cf.functionName || '(anonymous)';
    if (cf.url.endsWith('sm-invoke.cjs')) {
      const e = map.findEntry(cf.lineNumber, cf.columnNumber);
      if (e?.originalSource) {
        where = `${e.originalSource.replace(/^.*?(src\/|node_modules\/)/, '$1')}:${e.originalLine + 1}`;
        if (e.name) name = e.name;
      }
    } else if (cf.url) where = `${cf.url.replace(/^node:/, '')}:${cf.lineNumber + 1}`;
    const key = `${name}  ${where}`;
    self.set(key, (self.get(key) ?? 0) + us);
  }
  console.log(`top self time (of ${fmt(total / 1000, 0)} ms sampled):`);
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
    console.log(`${fmt(us / 1000, 0).padStart(7)} ms ${fmt((100 * us) / total).padStart(5)}%  ${k}`);
  }
}

// ---------------------------------------------------------------------------------------------
// table

function printTable() {
  const rows = [];
  const add = (scenario, client, s, note = '') =>
    rows.push([scenario, client, fmt(s.rps, 0), fmt(s.cpuMsPerRecord, 3), fmt(s.peakRssMB, 0), fmt(s.p50Ms), fmt(s.p99Ms), note]);
  const pass = (b) => (b ? 'PASS' : 'SHORT');
  const sc = report.scenarios;
  const clientsOf = (summary) => Object.keys(summary).filter((k) => k !== 'ratio');
  if (sc['1']?.summary) {
    for (const c of clientsOf(sc['1'].summary)) add(`1 zero-work (${sc['1'].server})`, c, sc['1'].summary[c]);
    const r = sc['1'].summary.ratio;
    if (r)
      rows.push([
        '',
        'ratio sm/base',
        `${fmt(r.rps, 2)}x`,
        `${fmt(r.cpuMsPerRecord, 3)}x`,
        `${fmt(r.peakRssMB, 2)}x`,
        '',
        '',
        `rec/s >=5x ${pass(sc['1'].targets.rpsAtLeast5x.pass)}, CPU <=0.2x ${pass(sc['1'].targets.cpuAtMostOneFifth.pass)}`,
      ]);
  }
  if (sc['2']?.byConcurrency) {
    for (const [c, v] of Object.entries(sc['2'].byConcurrency)) {
      rows.push([
        `2 emulator 50ms c=${c}`,
        'emulator ceiling',
        fmt(v.ceiling.rps, 0),
        '',
        '',
        fmt(v.ceiling.p50Ms),
        fmt(v.ceiling.p99Ms),
        `pre-signed raw client: ${fmt((100 * v.ceiling.rps) / v.idealRps)}% of ${v.idealRps}/s; emulator ${fmt(v.ceiling.emulatorCpuMsPerRequest, 3)} ms CPU/req`,
      ]);
      for (const name of clientsOf(v.summary)) {
        const s = v.summary[name];
        add(
          `2 emulator 50ms c=${c}`,
          name,
          s,
          `${fmt(100 * s.efficiency)}% of ${v.idealRps}/s, ${fmt(100 * s.efficiencyOfCeiling)}% of the bound` +
            `${name === 'sm-invoke' ? ` (want >=${v.target.want * 100}%: ${pass(v.target.pass)})` : ''}`,
        );
      }
      if (v.summary.ratio)
        rows.push([
          '',
          'ratio sm/base',
          `${fmt(v.summary.ratio.rps, 2)}x`,
          `${fmt(v.summary.ratio.cpuMsPerRecord, 3)}x`,
          `${fmt(v.summary.ratio.peakRssMB, 2)}x`,
          '',
          '',
          '',
        ]);
    }
  }
  if (sc['3']?.summary) {
    const t = sc['3'].targets;
    for (const c of clientsOf(sc['3'].summary)) {
      const run = sc['3'].runs[c][0];
      const rss = (run.rssAt ?? []).map((x) => `${x.records / 1000}k: ${fmt(x.rssMB, 0)} MB`).join(', ');
      add(
        `3 ${sc['3'].summary[c].records / 1000}k records`,
        c,
        sc['3'].summary[c],
        `RSS ${rss}${c === 'sm-invoke' ? ` (peak <80 MB ${pass(t.peakUnder80MB.pass)}, growth ${fmt(100 * t.growthWithin10pct.value)}% ${pass(t.growthWithin10pct.pass)})` : ''}`,
      );
    }
  }
  if (sc['4']?.summary) {
    const m = sc['4'].micro;
    for (const c of clientsOf(sc['4'].summary)) add(`4 1 MiB bodies c=${sc['4'].concurrency}`, c, sc['4'].summary[c]);
    const r = sc['4'].summary.ratio;
    if (r) rows.push(['', 'ratio sm/base', `${fmt(r.rps, 2)}x`, `${fmt(r.cpuMsPerRecord, 3)}x`, `${fmt(r.peakRssMB, 2)}x`, '', '', '']);
    rows.push([
      '4 hashing 1 MiB',
      'micro',
      '',
      '',
      '',
      '',
      '',
      `native ${m.nativeSha256Ms} ms, sha256-js ${m.sha256JsMs} ms, sm-invoke sign ${m.smInvokeSignMs} ms = ${m.signOverNative}x native (<=1.2x ${pass(sc['4'].target.pass)})`,
    ]);
  }
  if (sc['5']?.results) {
    for (const r of sc['5'].results)
      rows.push(['5 start-up', r.name, '', '', '', fmt(r.medianMs), fmt(r.p90Ms), `${fmt(r.ratioMedian, 2)}x node -e 0 (p50/p90 ms)`]);
    rows.push(['', '', '', '', '', '', '', `--version <=1.3x ${pass(sc['5'].targets.version.pass)}, --help ${pass(sc['5'].targets.help.pass)}`]);
  }
  const header = ['scenario', 'client', 'rec/s', 'CPU ms/rec', 'peak MB', 'p50 ms', 'p99 ms', 'notes'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) =>
    cells
      .map((c, i) => (i < 2 || i === 7 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  console.log(`\n${line(header)}`);
  for (const r of rows) console.log(line(r));
}

// ---------------------------------------------------------------------------------------------

if (opts.profile) {
  await profile();
  process.exit(0);
}
const scenarios = { 1: scenario1, 2: scenario2, 3: scenario3, 4: scenario4, 5: scenario5 };
console.log(`sm-invoke bench: node ${process.version}, ${report.cpus}, load ${report.loadavgStart.join(' ')}${quick ? ', --quick' : ''}, ${rounds} rounds`);
for (const [id, fn] of Object.entries(scenarios)) {
  if (!only.has(id)) continue;
  report.scenarios[id] = await fn();
}
report.loadavgEnd = loadavg().map((n) => +n.toFixed(2));
printTable();
console.log(
  `\nload average at start ${report.loadavgStart.join(' ')}, at end ${report.loadavgEnd.join(' ')} (2 cores: a load well above 2 means other work shared the CPU)`,
);
mkdirSync(dirname(opts.json), { recursive: true });
writeFileSync(opts.json, JSON.stringify(report, null, 2) + '\n');
console.log(`wrote ${opts.json}`);
