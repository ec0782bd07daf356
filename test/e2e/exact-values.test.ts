// Values reach the model and the output exactly as written: numbers of every shape in an envelope's
// body and meta and in JSON answers (one line or many), lone surrogates and duplicate keys refused,
// deep nesting and megabyte keys failing one record only. The built executable against the emulator.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { BINARY, runCli } from '../helpers/cli.js';
import { prng } from '../helpers/faults.js';

let emu: Emulator;
before(async () => {
  emu = await startEmulator({ endpoints: { demo: {}, mirror: { model: 'mirror' } } });
});
after(() => emu.close());

/** The built executable against the emulator, `input` on stdin; stdout as text (and, parsed, its lines). */
async function run(args: string[], input: string | Buffer) {
  const r = await runCli(['--endpoint-url', emu.url, ...args], { input, command: BINARY });
  return { ...r, stdout: r.stdout.toString('utf8') };
}

const bodiesSent = (from: number): string[] => emu.log.slice(from).map((e) => e.body.toString('utf8'));
const resultLines = (stdout: string): string[] => stdout.split('\n').filter(Boolean);

const NUMBERS = ['12345678901234567890', '1e400', '-0', '1.10', '-1E-7', '0.0', '1E+2', '-12345678901234567890.000000000000000001', '0', '5e-324'];

describe('numbers as written', () => {
  test('in an envelope body and meta, sent and echoed byte for byte; the mirrored JSON answer too', async () => {
    const body = `{"big":${NUMBERS[0]},"huge":${NUMBERS[1]},"negzero":${NUMBERS[2]},"trail":${NUMBERS[3]},"list":[${NUMBERS.join(',')}]}`;
    const meta = `{"id":${NUMBERS[0]},"w":${NUMBERS[3]},"z":${NUMBERS[2]}}`;
    const from = emu.log.length;
    const r = await run(['--endpoint-name', 'mirror', '--envelope', '--content-type', 'application/json'], `{"body": ${body}, "meta": ${meta}}\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(bodiesSent(from), [body]);
    const [line] = resultLines(r.stdout);
    assert.ok(line!.includes(`"body":${body}`), line);
    assert.ok(line!.includes(`"meta":${meta}`), line);
  });

  test('a pretty-printed (multi-line) JSON answer is embedded with its values untouched, whitespace between tokens dropped', async () => {
    const pretty = `{\n  "n": ${NUMBERS[0]},\n  "e": ${NUMBERS[1]},\n  "s": "two  spaces\\u00e9",\n  "z": [ -0 , 1.10 ]\n}\n`;
    const compact = `{"n":${NUMBERS[0]},"e":${NUMBERS[1]},"s":"two  spaces\\u00e9","z":[-0,1.10]}`;
    const r = await run(['--endpoint-name', 'mirror', '--envelope', '--accept', 'application/json'], JSON.stringify({ body: pretty }) + '\n');
    assert.equal(r.code, 0, r.stderr);
    const [line] = resultLines(r.stdout);
    assert.ok(line!.includes(`"body":${compact}`), line);
  });

  test('property: random envelopes with numbers of every shape reach the emulator and come back exactly', async () => {
    const random = prng(20261202);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const ws = (): string => pick(['', '', ' ', '\t', '  ', '\n ']).replace('\n', random() < 0.5 ? '\n' : ' ');
    const number = (): string => {
      if (random() < 0.5) return pick(NUMBERS);
      const sign = random() < 0.3 ? '-' : '';
      const int =
        random() < 0.2
          ? '0'
          : String(1 + Math.floor(random() * 9)) + Array.from({ length: Math.floor(random() * 25) }, () => Math.floor(random() * 10)).join('');
      const frac = random() < 0.5 ? '.' + Array.from({ length: 1 + Math.floor(random() * 20) }, () => Math.floor(random() * 10)).join('') : '';
      const exp = random() < 0.4 ? pick(['e', 'E']) + pick(['', '+', '-']) + String(Math.floor(random() * 500)) : '';
      return sign + int + frac + exp;
    };
    const str = (): string => pick(['"a"', '"\\u00e9t\\u00e9"', '"quote\\"d"', '"tab\\t"', '"😀"', '"\\ud83d\\ude00"', '"back\\\\slash"', '""']);
    /** [as written (with whitespace), compact]: the compact form is what must arrive. */
    const value = (depth: number): [string, string] => {
      const r = random();
      if (depth > 3 || r < 0.45) {
        const v = r < 0.3 ? number() : r < 0.4 ? str() : pick(['true', 'false', 'null']);
        return [v, v];
      }
      const n = Math.floor(random() * 4);
      const items = Array.from({ length: n }, (_, i) => {
        const [w, c] = value(depth + 1);
        return r < 0.7 ? [`${ws()}"k${i}"${ws()}:${ws()}${w}${ws()}`, `"k${i}":${c}`] : [`${ws()}${w}${ws()}`, c];
      });
      const [open, close] = r < 0.7 ? ['{', '}'] : ['[', ']'];
      return [open + items.map((x) => x[0]).join(',') + (n === 0 ? ws() : '') + close, open + items.map((x) => x[1]).join(',') + close];
    };
    const cases = Array.from({ length: 150 }, (_, i) => {
      const [bw, bc] = value(1);
      const [mw, mc] = value(1);
      // A top-level object body tagged with the case number, so that each request can be found.
      const bodyW = `{"case":${i},${ws()}"v":${bw}}`;
      const bodyC = `{"case":${i},"v":${bc}}`;
      return { line: `{${ws()}"body":${ws()}${bodyW},"meta":${ws()}${mw}${ws()}}`.replace(/\n/g, ' '), bodyC, metaC: mc };
    });
    const from = emu.log.length;
    const r = await run(
      ['--endpoint-name', 'mirror', '--envelope', '--content-type', 'application/json', '--concurrency', '8'],
      cases.map((c) => c.line).join('\n') + '\n',
    );
    assert.equal(r.code, 0, r.stderr);
    const sent = new Map(bodiesSent(from).map((b) => [Number(/^\{"case":(\d+),/.exec(b)![1]), b]));
    const lines = resultLines(r.stdout);
    assert.equal(lines.length, cases.length);
    cases.forEach((c, i) => {
      assert.equal(sent.get(i), c.bodyC, `case ${i}: the bytes the emulator received`);
      assert.ok(lines[i]!.includes(`"body":${c.bodyC}`), `case ${i}: the mirrored answer\n${lines[i]}`);
      assert.ok(lines[i]!.endsWith(`"meta":${c.metaC},"attempts":1,"latencyMs":${/"latencyMs":(\d+)/.exec(lines[i]!)![1]}}`), `case ${i}: meta\n${lines[i]}`);
    });
  });
});

describe('refused, one record at a time', () => {
  test('lone surrogates and duplicate keys are InvalidRecord, never last-wins; the other records go through', async () => {
    const input =
      [
        '{"body":"\\ud800"}',
        '{"body":1,"body":2}',
        '{"body":{"x":"\\udc00"}}',
        '{"endpointName":"demo","endpointName":"mirror","body":1}',
        '{"body":{"dup":1,"dup":2}}',
        '{"body":"\\ud83d\\ude00"}',
      ].join('\n') + '\n';
    const from = emu.log.length;
    const r = await run(['--endpoint-name', 'mirror', '--envelope', '--content-type', 'application/json'], input);
    assert.equal(r.code, 1, r.stderr);
    const lines = resultLines(r.stdout).map((l) => JSON.parse(l) as { ok: boolean; error?: { code: string; message: string } });
    assert.deepEqual(
      lines.map((l) => l.ok),
      [false, false, false, false, true, true],
    );
    assert.deepEqual(
      lines.slice(0, 4).map((l) => l.error!.code),
      ['InvalidRecord', 'InvalidRecord', 'InvalidRecord', 'InvalidRecord'],
    );
    assert.match(lines[0]!.error!.message, /surrogate/);
    assert.match(lines[1]!.error!.message, /"body" appears twice/);
    assert.match(lines[3]!.error!.message, /"endpointName" appears twice/);
    // Nested duplicates are the user's body, passed on as written.
    assert.deepEqual(bodiesSent(from).sort(), ['{"dup":1,"dup":2}', '😀'].sort());
  });

  test('10^5 levels of nesting in body or meta fail that record; a 10^5-deep answer is kept as text; the run goes on', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const input =
      [
        `{"body":${deep}}`,
        `{"body":1,"meta":${deep}}`,
        JSON.stringify({ body: deep }), // a string: sent as text, mirrored back as "JSON"
        '{"body":{"fine":true}}',
      ].join('\n') + '\n';
    const r = await run(['--endpoint-name', 'mirror', '--envelope', '--accept', 'application/json'], input);
    assert.equal(r.code, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /RangeError|stack|internal error/i);
    const lines = resultLines(r.stdout).map(
      (l) => JSON.parse(l) as { ok: boolean; body?: unknown; bodyText?: string; error?: { code: string; message: string } },
    );
    assert.deepEqual(
      lines.map((l) => l.ok),
      [false, false, true, true],
    );
    assert.match(lines[0]!.error!.message, /nested deeper than/);
    assert.match(lines[1]!.error!.message, /nested deeper than/);
    assert.equal(lines[2]!.bodyText, deep, 'too deep to embed: the answer as text, marked as not JSON');
    assert.deepEqual(lines[3]!.body, { fine: true });
  });

  test('an unknown envelope key of 4 MiB: InvalidRecord with a short message', async () => {
    const key = 'k'.repeat(4 * 1024 * 1024);
    const r = await run(['--endpoint-name', 'demo', '--envelope'], `{"${key}":1,"body":1}\n{"body":2}\n`);
    assert.equal(r.code, 1, r.stderr);
    const lines = resultLines(r.stdout);
    assert.equal(lines.length, 2);
    assert.ok(lines[0]!.length < 2000, `the error echoes a prefix, not the key: ${lines[0]!.length} bytes`);
    const first = JSON.parse(lines[0]!) as { error: { code: string; message: string } };
    assert.equal(first.error.code, 'InvalidRecord');
    assert.match(first.error.message, /unknown envelope key "k{60}…"/);
    assert.equal((JSON.parse(lines[1]!) as { ok: boolean }).ok, true);
  });
});
