#!/usr/bin/env node
// Benchmark input: `--count` NDJSON records of exactly `--bytes` bytes each (without the newline),
// written to stdout with backpressure, so a million records never sit in memory.
//
//   node scripts/bench-records.mjs --count 1000000 --bytes 200 | sm-invoke ...
//
// Each record is {"id":N,"text":"xxxx..."} padded to the size; ids make every body distinct.
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { count: { type: 'string' }, bytes: { type: 'string', default: '200' } } });
const count = Number(values.count);
const bytes = Number(values.bytes);
if (!Number.isSafeInteger(count) || count < 0 || !Number.isSafeInteger(bytes) || bytes < 40) {
  process.stderr.write('usage: bench-records.mjs --count N [--bytes B>=40]\n');
  process.exit(2);
}

const filler = 'x'.repeat(bytes);
const record = (i) => {
  const head = `{"id":${i},"text":"`;
  return `${head}${filler.slice(0, bytes - head.length - 2)}"}\n`;
};

// ~1 MiB per write; for big records, one record per write.
const perWrite = Math.max(1, Math.floor((1 << 20) / (bytes + 1)));
let i = 0;
function pump() {
  while (i < count) {
    let chunk = '';
    const end = Math.min(count, i + perWrite);
    for (; i < end; i++) chunk += record(i);
    if (!process.stdout.write(chunk)) {
      process.stdout.once('drain', pump);
      return;
    }
  }
}
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
pump();
