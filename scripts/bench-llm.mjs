#!/usr/bin/env node
// Benchmark of LLM jobs (scenario 11); `npm run bench` runs it after the others.
// Not a test: wall-clock figures, reported, never asserted (the targets are printed as met or not).
//
// N records over the emulator's token model (50 tokens, first token after 200 ms, 20 ms between
// tokens, +- 2 ms jitter; one PayloadPart per token) at concurrency 64, for the TGI and the OpenAI
// shapes, each record the same container request:
// - accuracy: sm-invoke --stream --llm's per-record ttftMs and itlMs.mean against the emulator's
//   truth from its log (the first part's time from the request's arrival; the mean gap between its
//   first and last part), at p50 and p99 over the records. Target: within 2 ms at p50.
// - cost: the CPU of the same run with --llm and without (both --stream, same bodies, medians of
//   ROUNDS runs each under /usr/bin/time): the parsing's share of the run's CPU and its CPU per
//   token. Target: under 5% of the run's CPU at 50 tokens per record.
//
//   node scripts/bench-llm.mjs [--quick] [--json FILE]        (npm run build first)
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchEnv, startEmulatorProcess } from './lib/emulator.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BINARY = join(root, 'dist', 'sm-invoke');
const TIME = '/usr/bin/time';
const { values: opts } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, json: { type: 'string', default: join(root, 'bench-results', 'llm.json') } },
});
const TOKENS = 50;
const TTFT = 200;
const ITL = 20;
const JITTER = 2;
const CONCURRENCY = Number(process.env.BENCH_LLM_C ?? 64);
const N = Number(process.env.BENCH_LLM_N ?? (opts.quick ? 128 : 640));
const ROUNDS = opts.quick ? 1 : 4;
/** The accuracy pass of a client that is not short of CPU: few streams at once. */
const LIGHT = { concurrency: 8, records: 64 };

const work = mkdtempSync(join(tmpdir(), 'smi-bench-llm-'));
const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});
const env = { ...benchEnv(work), NODE_NO_WARNINGS: '1' };
const r1 = (x) => Math.round(x * 10) / 10;
const r2 = (x) => Math.round(x * 100) / 100;
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};
const median = (xs) => quantile(xs, 0.5);

/** Runs sm-invoke under /usr/bin/time: its stdout, wall seconds, CPU ms. */
function timed(args, input) {
  return new Promise((resolveRun, reject) => {
    const timeFile = join(work, `time-${process.hrtime.bigint()}.txt`);
    const t0 = performance.now();
    const child = spawn(TIME, ['-f', '%e %U %S %M', '-o', timeFile, BINARY, ...args], { env, cwd: work, stdio: ['pipe', 'pipe', 'pipe'] });
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
      const [, user, sys] = readFileSync(timeFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
      resolveRun({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: err, wallS: (performance.now() - t0) / 1000, cpuMs: (user + sys) * 1000 });
    });
    child.stdin.end(input);
  });
}

const spec = (model) => ({ model, tokens: TOKENS, firstTokenMs: TTFT, interTokenMs: ITL, jitterMs: JITTER });
const emu = await startEmulatorProcess(BINARY, {
  logLimit: 1_000_000,
  endpoints: { tgi: { model: 'tgi', stream: spec('tgi') }, openai: { model: 'openai', stream: spec('openai') } },
});
children.add(emu.child);

/** The container request of record i in the schema, with its stream flag. */
function body(schema, i) {
  if (schema === 'openai')
    return { messages: [{ role: 'user', content: `prompt ${i} of the run` }], max_tokens: TOKENS, stream: true, stream_options: { include_usage: true } };
  return { inputs: `prompt ${i} of the run`, parameters: { max_new_tokens: TOKENS, details: true }, stream: true };
}

async function emulatorLog() {
  const res = await fetch(`${emu.url}/_emulator/log`);
  return res.json();
}

const inputOf = (schema, n) => `${Array.from({ length: n }, (_, i) => JSON.stringify(body(schema, i))).join('\n')}\n`;
const argsOf = (schema, c) => [
  '--endpoint-url',
  emu.url,
  '--endpoint-name',
  schema,
  '--stream',
  '--concurrency',
  String(c),
  '--content-type',
  'application/json',
];

async function runOnce(args, input) {
  await fetch(`${emu.url}/_emulator/reset`, { method: 'POST' });
  const r = await timed(args, input);
  if (r.code !== 0) throw new Error(`sm-invoke ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r;
}

async function scenario(schema) {
  const input = inputOf(schema, N);
  const base = argsOf(schema, CONCURRENCY);
  const plain = [];
  const llm = [];
  let accuracy;
  // Rounds in alternating order (plain, llm, then llm, plain): the machine's drift falls on both alike.
  for (let round = 0; round < ROUNDS; round++) {
    for (const withLlm of round % 2 === 0 ? [false, true] : [true, false]) {
      const r = await runOnce(withLlm ? [...base, '--llm', schema] : base, input);
      (withLlm ? llm : plain).push(r.cpuMs);
      if (withLlm && accuracy === undefined) accuracy = await compare(r.stdout, schema, N);
    }
  }
  const light = await compare(
    (await runOnce([...argsOf(schema, LIGHT.concurrency), '--llm', schema], inputOf(schema, LIGHT.records))).stdout,
    schema,
    LIGHT.records,
  );
  const cpuPlain = median(plain);
  const cpuLlm = median(llm);
  const extra = Math.max(0, cpuLlm - cpuPlain);
  return {
    schema,
    records: N,
    concurrency: CONCURRENCY,
    ...accuracy,
    light: { ...LIGHT, ttftMs: light.ttftMs, itlMs: light.itlMs },
    cpuMsPlainRuns: plain.map(Math.round),
    cpuMsLlmRuns: llm.map(Math.round),
    cpuMsPlain: Math.round(cpuPlain),
    cpuMsLlm: Math.round(cpuLlm),
    llmShareOfRunCpuPct: r2((extra / cpuLlm) * 100),
    llmCpuUsPerToken: r2((extra * 1000) / (N * TOKENS)),
  };
}

/** Each result's llm figures against the emulator's log for the same request (matched by prompt). */
async function compare(stdout, schema, n) {
  const byPrompt = new Map();
  for (const e of await emulatorLog()) {
    if (!e.stream) continue;
    const sent = JSON.parse(Buffer.from(e.body, 'base64').toString('utf8'));
    byPrompt.set(schema === 'openai' ? sent.messages[0].content : sent.inputs, e.stream);
  }
  const ttft = { reported: [], truth: [], diff: [] };
  const itl = { reported: [], truth: [], diff: [] };
  let exact = 0;
  stdout
    .split('\n')
    .filter((l) => l !== '')
    .forEach((l, i) => {
      const r = JSON.parse(l);
      const truth = byPrompt.get(`prompt ${i} of the run`);
      if (!r.ok || truth === undefined) throw new Error(`record ${i + 1}: ${JSON.stringify(r.error ?? 'no log entry')}`);
      ttft.reported.push(r.llm.ttftMs);
      ttft.truth.push(truth.firstPartMs);
      ttft.diff.push(r.llm.ttftMs - truth.firstPartMs);
      // The emulator's mean gap: from its first part to its last, over the gaps between its token parts.
      const gaps = truth.parts - 1;
      const truthItl = (truth.lastPartAt - truth.firstPartAt) / gaps;
      itl.reported.push(r.llm.itlMs.mean);
      itl.truth.push(truthItl);
      itl.diff.push(r.llm.itlMs.mean - truthItl);
      if (r.llm.outputTokens === truth.completionTokens && r.llm.tokensExact) exact++;
    });
  const at = (x, q) => r2(quantile(x, q));
  return {
    ttftMs: {
      p50: at(ttft.reported, 0.5),
      p99: at(ttft.reported, 0.99),
      truthP50: at(ttft.truth, 0.5),
      truthP99: at(ttft.truth, 0.99),
      medianDiff: at(ttft.diff, 0.5),
    },
    itlMs: {
      p50: at(itl.reported, 0.5),
      p99: at(itl.reported, 0.99),
      truthP50: at(itl.truth, 0.5),
      truthP99: at(itl.truth, 0.99),
      medianDiff: at(itl.diff, 0.5),
    },
    tokensExact: `${exact}/${n}`,
  };
}

/**
 * The parser alone, in this process (the CPU of a run is noisy on a shared machine): the CPU per
 * token of reading the emulator's own events, one part per event, as --llm reads them.
 */
async function parseCost(schema) {
  const { StreamParser } = await import(join(root, 'dist', 'lib', 'src', 'core', 'llm', 'stream-parser.js'));
  const base = { id: 'chatcmpl-emulator', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'emulator' };
  const parts = Array.from({ length: TOKENS }, (_, i) => {
    const last = i === TOKENS - 1;
    const ev =
      schema === 'openai'
        ? `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: ' tokens' }, logprobs: null, finish_reason: null }] })}\n\n`
        : `data:${JSON.stringify({ index: i + 1, token: { id: 1000 + i, text: ' tokens', logprob: -1.234, special: false }, generated_text: last ? ' tokens'.repeat(TOKENS) : null, details: last ? { finish_reason: 'length', generated_tokens: TOKENS, seed: null } : null })}\n\n`;
    return Buffer.from(ev);
  });
  const once = (rounds) => {
    const t0 = process.cpuUsage();
    for (let r = 0; r < rounds; r++) {
      const p = new StreamParser(schema);
      parts.forEach((b, i) => {
        p.push(b, i);
      });
      p.end(1000);
    }
    const u = process.cpuUsage(t0);
    return (u.user + u.system) / (rounds * TOKENS);
  };
  once(500);
  return r2(median([once(2000), once(2000), once(2000)]));
}

const results = [];
for (const schema of ['tgi', 'openai']) {
  const r = await scenario(schema);
  r.parserCpuUsPerToken = await parseCost(schema);
  // The parser's share of a run's CPU: its CPU per record against the run's CPU per record without --llm.
  r.parserShareOfRunCpuPct = r2(((r.parserCpuUsPerToken * TOKENS) / 1000 / (r.cpuMsPlain / N)) * 100);
  results.push(r);
}
emu.stop();

console.log(
  `\nScenario 11: LLM jobs, ${N} records x ${TOKENS} tokens, first token ${TTFT} ms, ${ITL} ms between tokens (+-${JITTER}), concurrency ${CONCURRENCY}, CPU medians of ${ROUNDS} runs each (alternating)\n`,
);
console.log(
  '| shape | TTFT p50 reported / truth | TTFT p99 reported / truth | ITL p50 reported / truth | ITL p99 reported / truth | tokens exact | run CPU without / with --llm | difference: share, per token | parser alone: per token, share |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(
    `| ${r.schema} | ${r.ttftMs.p50} / ${r.ttftMs.truthP50} ms | ${r.ttftMs.p99} / ${r.ttftMs.truthP99} ms | ${r.itlMs.p50} / ${r.itlMs.truthP50} ms | ${r.itlMs.p99} / ${r.itlMs.truthP99} ms | ${r.tokensExact} | ${r.cpuMsPlain} / ${r.cpuMsLlm} ms | ${r.llmShareOfRunCpuPct}%, ${r.llmCpuUsPerToken} µs | ${r.parserCpuUsPerToken} µs, ${r.parserShareOfRunCpuPct}% |`,
  );
}
console.log(`\nThe same at concurrency ${LIGHT.concurrency} (${LIGHT.records} records: a client with CPU to spare):\n`);
console.log('| shape | TTFT p50 reported / truth | TTFT p99 reported / truth | ITL p50 reported / truth | ITL p99 reported / truth |');
console.log('|---|---|---|---|---|');
for (const r of results) {
  const l = r.light;
  console.log(
    `| ${r.schema} | ${l.ttftMs.p50} / ${l.ttftMs.truthP50} ms | ${l.ttftMs.p99} / ${l.ttftMs.truthP99} ms | ${l.itlMs.p50} / ${l.itlMs.truthP50} ms | ${l.itlMs.p99} / ${l.itlMs.truthP99} ms |`,
  );
}
for (const r of results) console.log(`${r.schema}: CPU ms of the runs without --llm ${r.cpuMsPlainRuns.join(', ')}; with ${r.cpuMsLlmRuns.join(', ')}`);
for (const r of results) {
  const ttftOk = Math.abs(r.ttftMs.p50 - r.ttftMs.truthP50) <= 2;
  const itlOk = Math.abs(r.itlMs.p50 - r.itlMs.truthP50) <= 2;
  console.log(
    `${r.schema}: TTFT p50 within 2 ms of the truth: ${ttftOk ? 'met' : 'NOT met'} (${r1(r.ttftMs.p50 - r.ttftMs.truthP50)} ms); ITL p50: ${itlOk ? 'met' : 'NOT met'} (${r1(r.itlMs.p50 - r.itlMs.truthP50)} ms); --llm under 5% of the run's CPU: ${r.llmShareOfRunCpuPct < 5 ? 'met' : 'NOT met'} (difference of runs), ${r.parserShareOfRunCpuPct < 5 ? 'met' : 'NOT met'} (the parser alone)`,
  );
}
mkdirSync(dirname(opts.json), { recursive: true });
writeFileSync(opts.json, `${JSON.stringify({ tokens: TOKENS, ttftMs: TTFT, itlMs: ITL, jitterMs: JITTER, rounds: ROUNDS, results }, null, 2)}\n`);
