// The README's cron job, run as written: its script (only /data/ and /var/log/ moved into a temporary
// directory, `date` answering a chosen day) and its crontab line. A day's run, a stop and a second
// run the same day that continues it, a third that has nothing left to send, and the next day's
// input of the same length, which gets its own outfile.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { BINARY, ROOT, scrubbedEnv, tempDir } from '../helpers/cli.js';

let emu: Emulator;
before(async () => {
  emu = await startEmulator({ endpoints: { 'my-ep': {} } });
});
after(() => emu.close());

/** The README's "A cron job" paragraph: its script and its crontab line. */
function readmeCron(): { script: string; scriptPath: string; crontab: string } {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf('\nA cron job.');
  assert.ok(at !== -1, 'the README has its cron job paragraph');
  const rest = readme.slice(at);
  const script = /```sh\n(#!\/bin\/sh\n[\s\S]*?)```/.exec(rest)?.[1];
  const crontab = /```crontab\n([\s\S]*?)```/.exec(rest)?.[1];
  const scriptPath = /a script, `([^`]+)`/.exec(rest)?.[1];
  assert.ok(script && crontab && scriptPath, 'a script, its path and a crontab line');
  return { script, scriptPath, crontab };
}

test("the README's cron job: a day's run, continued after a stop, then the next day's input", async () => {
  const { script, scriptPath, crontab } = readmeCron();
  // The crontab line is one line of five time fields and the script: no `\` continuation, no bare %.
  const entries = crontab.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  assert.equal(entries.length, 1, crontab);
  const fields = entries[0]!.trim().split(/\s+/);
  assert.equal(fields.length, 6, entries[0]);
  assert.equal(fields[5], scriptPath);
  assert.doesNotMatch(entries[0]!, /[\\%]/);
  assert.match(script, /\/data\//);
  assert.match(script, /\/var\/log\//);

  const dir = tempDir();
  mkdirSync(join(dir, 'data'));
  mkdirSync(join(dir, 'log'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(BINARY, join(bin, 'sm-invoke'));
  writeFileSync(join(bin, 'date'), '#!/bin/sh\nif [ "$1" = "+%F" ]; then echo "$FAKE_DAY"; else exec /bin/date "$@"; fi\n');
  chmodSync(join(bin, 'date'), 0o755);
  const nightly = join(bin, 'nightly-invoke');
  writeFileSync(nightly, script.replaceAll('/data/', `${dir}/data/`).replaceAll('/var/log/', `${dir}/log/`));
  chmodSync(nightly, 0o755);

  const cron = async (day: string): Promise<{ code: number | null; stderr: string }> => {
    const env = scrubbedEnv({ PATH: `${bin}:${process.env.PATH}`, FAKE_DAY: day, AWS_ENDPOINT_URL: emu.url });
    // cron runs the line's command with /bin/sh, stdin from nothing.
    const child = spawn('/bin/sh', ['-c', nightly], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const err: Buffer[] = [];
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const [code] = (await once(child, 'close')) as [number | null];
    return { code, stderr: Buffer.concat(err).toString() };
  };
  const input = (day: string, tag: string): void =>
    writeFileSync(join(dir, 'data', `in-${day}.ndjson`), Array.from({ length: 5 }, (_, i) => JSON.stringify({ t: tag, i: i + 1 })).join('\n') + '\n');
  const sent = (tag: string): number => emu.log.filter((e) => e.body.toString().includes(`"t":"${tag}"`)).length;
  const results = (day: string): Array<{ ok: boolean; body: { t: string } }> =>
    readFileSync(join(dir, 'data', `out-${day}.ndjson`), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { ok: boolean; body: { t: string } });

  input('2026-03-01', 'cron-d1');
  let r = await cron('2026-03-01');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(results('2026-03-01').length, 5);
  assert.equal(sent('cron-d1'), 5);
  const stats = JSON.parse(readFileSync(join(dir, 'log', 'sm-invoke-2026-03-01.json'), 'utf8')) as { ok: number; exitCode: number };
  assert.deepEqual([stats.ok, stats.exitCode], [5, 0]);

  // Stopped after 2 results (a reboot): the 03:00 run continues it.
  const out1 = join(dir, 'data', 'out-2026-03-01.ndjson');
  writeFileSync(out1, readFileSync(out1, 'utf8').split('\n').slice(0, 2).join('\n') + '\n');
  r = await cron('2026-03-01');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(results('2026-03-01').length, 5);
  assert.equal(sent('cron-d1'), 8, 'only the 3 records not answered');
  r = await cron('2026-03-01');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(sent('cron-d1'), 8, 'a finished day sends nothing');

  // The next day: another input of the same length, its own outfile.
  input('2026-03-02', 'cron-d2');
  r = await cron('2026-03-02');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    results('2026-03-02').map((x) => x.ok),
    [true, true, true, true, true],
  );
  assert.equal(sent('cron-d2'), 5);
  assert.equal(results('2026-03-01').length, 5, "the day before's results are kept");
});
