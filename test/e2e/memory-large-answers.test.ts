// Issue 19, "Memory": behind a stalled record, large answers must not pile up past --max-buffer-mib.
// The built binary against a raw HTTP server on 127.0.0.1 that answers 7 MB bodies, the first
// record's answer held back until the others are under way. The bound is on peak RSS (VmHWM):
// the same run with 100-byte answers (the binary's own overhead, measured here) plus a few times
// the 8 MiB budget, while the first record is stalled and over the whole run. Before answers were
// read against the budget, up to --concurrency 7 MB answers were read in full.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync, writeFileSync, createReadStream } from 'node:fs';
import type net from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { BINARY, scrubbedEnv, tempDir } from '../helpers/cli.js';
import { bodyOf, rawServer } from '../helpers/raw-server.js';

const MiB = 1024 * 1024;
const RECORDS = 24;
const CONCURRENCY = 16;
const BUDGET_MIB = 8;
const BIG = 7_000_000;

/** A 200 answer of `size` bytes of JSON; `chunked`: without a Content-Length, in 64 KiB chunks. */
function answer(size: number, i: number, chunked: boolean): Buffer {
  const body = Buffer.alloc(size, 'x');
  body.write(`{"i":${i},"pad":"`, 0, 'latin1');
  body.write('"}', size - 2, 'latin1');
  const head = (framing: string): Buffer =>
    Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nx-Amzn-Invoked-Production-Variant: AllTraffic\r\n${framing}\r\n\r\n`, 'latin1');
  if (!chunked) return Buffer.concat([head(`Content-Length: ${size}`), body]);
  const parts = [head('Transfer-Encoding: chunked')];
  for (let at = 0; at < size; at += 64 * 1024) {
    const piece = body.subarray(at, Math.min(size, at + 64 * 1024));
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`, 'latin1'), piece, Buffer.from('\r\n', 'latin1'));
  }
  parts.push(Buffer.from('0\r\n\r\n', 'latin1'));
  return Buffer.concat(parts);
}

/** Runs the binary over RECORDS records answered with `size` bytes each, the first answer held until the others are sent for; its peak RSS. */
async function peakRun(size: number, chunked = false): Promise<{ peak: number; stalled: number; out: string }> {
  const dir = tempDir();
  let release: (() => void) | undefined;
  const held = new Promise<void>((r) => {
    release = r;
  });
  let others = 0;
  let released = false;
  const server = await rawServer((socket: net.Socket, request: string) => {
    const { i } = JSON.parse(bodyOf(request)) as { i: number };
    if (i === 1) {
      held.then(() => socket.write(answer(size, i, chunked)));
      return;
    }
    socket.write(answer(size, i, chunked));
    // Once every other slot has its request out, give them a moment to be read (unbounded before the fix).
    if (++others === CONCURRENCY - 1)
      setTimeout(() => {
        released = true;
        release!();
      }, 1500);
  });
  try {
    const inPath = join(dir, 'in.ndjson');
    writeFileSync(inPath, Array.from({ length: RECORDS }, (_, k) => JSON.stringify({ i: k + 1 }) + '\n').join(''));
    const out = join(dir, 'out.ndjson');
    const input = openSync(inPath, 'r');
    const child = spawn(
      BINARY,
      ['--endpoint-url', server.url, '--endpoint-name', 'big', '--concurrency', String(CONCURRENCY), '--max-buffer-mib', String(BUDGET_MIB), out],
      { env: scrubbedEnv(), stdio: [input, 'ignore', 'pipe'] },
    );
    closeSync(input);
    const err: Buffer[] = [];
    child.stderr!.on('data', (c: Buffer) => err.push(c));
    let peak = 0;
    let stalled = 0;
    const sample = (): void => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const m = /VmHWM:\s+(\d+) kB/.exec(status);
        if (m) peak = Math.max(peak, Number(m[1]) * 1024);
        const now = /VmRSS:\s+(\d+) kB/.exec(status);
        if (now && !released) stalled = Math.max(stalled, Number(now[1]) * 1024);
      } catch {
        // exited
      }
    };
    const timer = setInterval(sample, 10);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearInterval(timer);
    assert.equal(code, 0, Buffer.concat(err).toString());
    assert.ok(peak > 0, 'RSS was sampled');
    return { peak, stalled, out };
  } finally {
    release!();
    await server.close();
  }
}

describe('memory: large answers behind a stalled record', () => {
  let small: { peak: number } | undefined;
  for (const chunked of [false, true]) {
    test(`${RECORDS} answers of 7 MB ${chunked ? 'in chunks, no Content-Length' : 'with a Content-Length'}, at --concurrency ${CONCURRENCY} --max-buffer-mib ${BUDGET_MIB}: RSS within the overhead plus a few budgets, every answer whole and in order`, async (t) => {
      small ??= await peakRun(100);
      const big = await peakRun(BIG, chunked);
      const mb = (n: number): string => `${(n / MiB).toFixed(0)} MiB`;
      // While the first record is stalled: the binary's own overhead (the same run with small
      // answers), plus the budget twice over, plus slack. On the development machine: overhead +
      // about 155 MiB before the fix, + about 15 MiB after it.
      const stalledBound = small.peak + 2 * BUDGET_MIB * MiB + 24 * MiB;
      // Over the whole run, also while the answers drain: the budget, the oldest record's answer
      // (always read), the one being written, and the 64 MiB of freed answer buffers V8 lets pile
      // up before it collects them (its external-memory limit). Before the fix: overhead + about
      // 175 MiB; after it, overhead + about 75 MiB.
      // Without a Content-Length an answer is held as its chunks until they are joined: one more copy.
      const bound = small.peak + 2 * BUDGET_MIB * MiB + (chunked ? 3 : 2) * BIG + 64 * MiB + 24 * MiB;
      t.diagnostic(
        `RSS: ${mb(big.stalled)} while stalled, ${mb(big.peak)} at the peak with 7 MB answers; ${mb(small.peak)} with 100-byte ones (bounds ${mb(stalledBound)}, ${mb(bound)})`,
      );
      assert.ok(big.stalled <= stalledBound, `RSS while stalled ${mb(big.stalled)} over ${mb(stalledBound)} (small answers: ${mb(small.peak)})`);
      assert.ok(big.peak <= bound, `peak RSS ${mb(big.peak)} over ${mb(bound)} (small answers: ${mb(small.peak)})`);
      let n = 0;
      for await (const line of createInterface({ input: createReadStream(big.out) })) {
        n++;
        const r = JSON.parse(line) as { line: number; ok: boolean; body: { i: number; pad: string } };
        assert.equal(r.line, n);
        assert.equal(r.ok, true);
        assert.equal(r.body.i, n);
        assert.equal(r.body.pad.length, BIG - `{"i":${n},"pad":"`.length - 2);
      }
      assert.equal(n, RECORDS);
    });
  }
});
