#!/usr/bin/env node
// src/json-exact.ts against what the tool does today (JSON.parse, then JSON.stringify of body/meta,
// or of a whole JSON response). Build first: npx tsc -p tsconfig.json
//
//   node scripts/bench-json.mjs [--rounds 7] [--ms 300]
//
// Prints us/op (median of the rounds) for each input, ours and today's.
import { parseArgs } from 'node:util';
import { compactJson, scanObject } from '../dist/lib/src/core/json-exact.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, ms: { type: 'string', default: '300' } } });
const ROUNDS = Number(values.rounds);
const MS = Number(values.ms);

// ---- inputs ----
const small = '{"inferenceId":"a1","body":{"inputs":"hello world"},"meta":{"id":7}}';

function kib1() {
  const head = '{"inferenceId":"rec-000123","endpointName":"my-endpoint","contentType":"application/json",' + '"body":{"inputs":"';
  const tail =
    '","parameters":{"max_new_tokens":256,"temperature":0.7,"top_p":0.9,"stop":["\\n\\n","###"]}},' +
    '"meta":{"id":123,"source":"batch-7","tags":["a","b"],"score":1.10}}';
  const words = 'The quick brown fox jumps over the lazy dog. ';
  const fill = words.repeat(40).slice(0, 1024 - head.length - tail.length);
  return head + fill + tail;
}
const kib = kib1();

const b64 = Buffer.alloc(786429)
  .map((_, i) => (i * 131 + (i >> 7)) & 255)
  .toString('base64');
const mibBase64 = `{"inferenceId":"big","bodyBase64":"${b64}"}`;

function mibEscaped() {
  const chunk = 'line one\\nhe said \\"hi\\"\\ttab \\\\ back caf\\u00e9 na\\u00efve \\/ end. ';
  let body = chunk.repeat(Math.ceil((1 << 20) / chunk.length)).slice(0, (1 << 20) - 40);
  body = body.slice(0, body.lastIndexOf(' end. ') + 6); // do not cut an escape
  return `{"inferenceId":"esc","body":"${body}"}`;
}
const mibEsc = mibEscaped();

// Text as a JSON encoder writes it: newlines, tabs and non-ASCII escaped, quotes rare.
function mibProseText() {
  const para =
    'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. Caf\\u00e9 cr\\u00e8me.\\n\\tUt enim ad minim veniam, quis nostrud exercitation ullamco laboris.\\n';
  const body = para.repeat(Math.floor((1 << 20) / para.length));
  return `{"inferenceId":"prose","body":"${body}"}`;
}
const mibProse = mibProseText();

function prettyResponse() {
  const items = [];
  let text = '';
  for (let i = 0; text.length < 200 * 1024; i++) {
    items.push({ id: i, label: `label-${i}`, score: (i * 0.37) % 1, embedding: [i / 7, -i / 3, 1e-7 * i], tags: ['x', 'y z'], ok: i % 2 === 0, note: null });
    if (i % 64 === 0) text = JSON.stringify({ predictions: items }, null, 2);
  }
  return JSON.stringify({ predictions: items }, null, 2);
}
const pretty = prettyResponse();
const oneLine = JSON.stringify(JSON.parse(pretty));

// ---- what runs ----
let sink = 0;
const today = (text) => {
  const v = JSON.parse(text);
  if ('body' in v && typeof v.body !== 'string') sink += JSON.stringify(v.body).length;
  if ('meta' in v) sink += JSON.stringify(v.meta).length;
  return v;
};
const ours = (text) => {
  const r = scanObject(text);
  if (!r.ok) throw new Error(r.message);
  sink += r.members.length;
  return r;
};
const todayCompact = (text) => JSON.stringify(JSON.parse(text));
// One-line JSON is only validated today, and embedded as received.
const todayValidate = (text) => {
  JSON.parse(text);
  return text;
};
const oursCompact = (text) => {
  const r = compactJson(text);
  if (!r.ok) throw new Error(r.message);
  return r.json;
};

// Same answers before timing anything.
for (const t of [small, kib, mibBase64, mibEsc, mibProse]) {
  const a = today(t);
  const b = ours(t);
  for (const m of b.members) {
    const want = a[m.key];
    const got = m.kind === 'string' ? m.value : JSON.parse(m.raw);
    if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`mismatch on ${m.key}`);
  }
}
if (oursCompact(pretty) !== todayCompact(pretty) || oursCompact(oneLine) !== oneLine) throw new Error('compactJson mismatch'); // no numbers that JSON rewrites here

/** Repeats fn until about `ms` have passed, in batches of n; returns us/op. */
function run(fn, text, n, ms) {
  let ops = 0;
  let ns = 0;
  const t0 = process.hrtime.bigint();
  do {
    for (let i = 0; i < n; i++) fn(text);
    ops += n;
    ns = Number(process.hrtime.bigint() - t0);
  } while (ns < ms * 1e6);
  return ns / ops / 1000;
}

function batch(fn, text) {
  let n = 1;
  for (;;) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn(text);
    if (Number(process.hrtime.bigint() - t0) / 1e6 > MS / 20) return n;
    n *= 2;
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Rounds alternate between the two, so a busy machine slows both alike. */
function compare(ours, today, text) {
  const na = batch(ours, text);
  const nb = batch(today, text);
  const a = [];
  const b = [];
  const ratio = [];
  for (let r = 0; r < ROUNDS; r++) {
    const ta = run(ours, text, na, MS);
    const tb = run(today, text, nb, MS);
    a.push(ta);
    b.push(tb);
    ratio.push(ta / tb);
  }
  return { ours: median(a), today: median(b), ratio: median(ratio), best: Math.min(...a) / Math.min(...b) };
}

const cases = [
  ['small envelope (the 68-byte example)', small, ours, today],
  ['1 KiB envelope', kib, ours, today],
  ['1 MiB bodyBase64 envelope', mibBase64, ours, today],
  ['1 MiB text body, dense escapes', mibEsc, ours, today],
  ['1 MiB text body, escapes, few quotes', mibProse, ours, today],
  ['200 KiB pretty-printed response (compactJson)', pretty, oursCompact, todayCompact],
  ['the same response on one line (compactJson; today: JSON.parse only)', oneLine, oursCompact, todayValidate],
];
const fmt = (x) => (x < 10 ? x.toFixed(2) : x.toFixed(0));
console.log(`node ${process.version}; median of ${ROUNDS} alternating rounds of ~${MS} ms each`);
console.log('today: JSON.parse + JSON.stringify of body (unless a string) and meta; for a multi-line response, JSON.stringify(JSON.parse(text))');
console.log('');
console.log('| input | chars | ours us/op | today us/op | ours/today (median of rounds) | best/best |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const [name, text, a, b] of cases) {
  const r = compare(a, b, text);
  console.log(`| ${name} | ${text.length} | ${fmt(r.ours)} | ${fmt(r.today)} | ${r.ratio.toFixed(2)}x | ${r.best.toFixed(2)}x |`);
}
if (sink === 42) console.log('');
