// docs/scale-out.md's Slurm way, run for real: munged, slurmctld and slurmd on 127.0.0.1 (one node,
// 4 CPUs), docs/scale-out/slurm.sbatch submitted as shipped as a 4-task array against the emulator,
// its input and outfiles in S3 (s3rver), the merge a job that depends on the array. The merged
// file equals one unsharded run's, line for line (but for each answer's attempts and latency); then
// again with one task cancelled and another requeued while running: both resume, still equal.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { BINARY, ROOT, runCli, scrubbedEnv, tempDir } from '../helpers/cli.js';
import { waitFor } from '../helpers/daemons.js';
import { awsWithS3Endpoint, startLocalS3, type LocalS3 } from '../helpers/s3-local.js';
import { startSlurm, type Slurm } from '../helpers/slurm.js';
import { bash, stableLines, type ShellRun } from '../helpers/shell.js';

const SBATCH = join(ROOT, 'docs', 'scale-out', 'slurm.sbatch');
const SCRIPTS = join(ROOT, 'docs', 'scale-out');

let emu: Emulator;
let s3: LocalS3;
let slurm: Slurm;
let dir: string;
let env: Record<string, string>;
let single: string[];

/** 402 lines: 400 records and two blank lines (lines 100 and 203: shards 3 and 2 of 4). */
function input(): string {
  const lines: string[] = [];
  for (let i = 1; i <= 402; i++) lines.push(i === 100 || i === 203 ? '' : JSON.stringify({ i, text: `record ${i}` }));
  return lines.join('\n') + '\n';
}

/** A result line without what differs from run to run. */
const stable = stableLines;

/** bash -c SCRIPT with the jobs' environment, asynchronously (the emulator and S3 run in this process). */
function sh(script: string, cwd: string, extra: Record<string, string> = {}): Promise<ShellRun> {
  return bash(script, cwd, { ...env, ...extra });
}

async function aws(args: string, cwd = dir, more: () => string = () => ''): Promise<string> {
  const r = await sh(`aws ${args}`, cwd);
  assert.equal(r.status, 0, `aws ${args}: ${r.stderr}${more()}`);
  return r.stdout;
}

/** The task logs (sm-invoke-%A_%a.log in the submit directory) and the daemons', for failure messages. */
function logs(d: string): string {
  const tasks = readdirSync(d)
    .filter((f) => f.endsWith('.log') || f.startsWith('slurm-'))
    .map((f) => `--- ${f}\n${readFileSync(join(d, f), 'utf8').slice(-3000)}`);
  return [...tasks, slurm.logs()].join('\n');
}

async function finished(job: string, d: string, ms = 60_000): Promise<string> {
  return waitFor(
    async () => {
      const s = await slurm.state(job, env);
      return ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY'].includes(s.state) ? s.state : undefined;
    },
    ms,
    () => `job ${job} did not finish:\n${logs(d)}`,
  );
}

/** Submits the array (as shipped, 4 tasks) and the merge that depends on it, from directory d. */
async function submit(d: string, run: string): Promise<{ job: string; merge: string; out: string; result: string }> {
  const out = `s3://my-bucket/jobs/${run}/out`;
  const result = `s3://my-bucket/jobs/${run}/results.ndjson`;
  // The documented commands, with this test's prefixes and 4 tasks for 8.
  const r = await sh(
    [
      `JOB=$(sbatch --parsable --array=0-3 "${SBATCH}")`,
      'echo "$JOB"',
      `sbatch --parsable --dependency=afterok:"$JOB" --wrap 'OUT=${out} RESULT=${result} merge.sh 4'`,
    ].join('\n'),
    d,
    { IN: `s3://my-bucket/jobs/${run}/input.ndjson`, OUT: out },
  );
  assert.equal(r.status, 0, r.stderr);
  const [job, merge] = r.stdout.trim().split('\n');
  assert.match(job ?? '', /^\d+$/, r.stdout);
  assert.match(merge ?? '', /^\d+$/, r.stdout);
  return { job: job!, merge: merge!, out, result };
}

/** Everything under s3://my-bucket/jobs/RUN/ copied to LOCAL (one AWS CLI start: each takes about 0.5 s of CPU). */
async function download(run: string, local: string, d: string): Promise<void> {
  await aws(`s3 cp --only-show-errors --recursive s3://my-bucket/jobs/${run}/ ${local}/`, dir, () => logs(d));
}

async function mergedEqualsSingle(run: string, d: string): Promise<void> {
  await download(run, join(d, 's3'), d);
  const merged = readFileSync(join(d, 's3', 'results.ndjson'), 'utf8');
  assert.equal(stable(merged).length, 400);
  assert.deepEqual(stable(merged), single);
}

before(async () => {
  dir = tempDir('sm-invoke-slurm-test-');
  // Started first: a missing tool fails the file at once, with the package to install.
  slurm = await startSlurm();
  emu = await startEmulator({ endpoints: { 'my-endpoint': {} } });
  s3 = await startLocalS3(['my-bucket']);
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(BINARY, join(bin, 'sm-invoke'));
  awsWithS3Endpoint(bin);
  mkdirSync(join(dir, 'tmp'));
  env = slurm.env(
    scrubbedEnv({
      // sm-invoke, shard.sh and merge.sh on the PATH (docs/scale-out.md: "on the nodes' PATH"), the AWS CLI in /usr/bin.
      PATH: `${bin}:${SCRIPTS}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`,
      AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: emu.url,
      AWS_ENDPOINT_URL_S3: s3.url,
      TMPDIR: join(dir, 'tmp'),
    }),
  );
  writeFileSync(join(dir, 'input.ndjson'), input());
  // Both runs' inputs in one upload.
  for (const run of ['plain', 'killed']) {
    mkdirSync(join(dir, 'up', run), { recursive: true });
    writeFileSync(join(dir, 'up', run, 'input.ndjson'), input());
  }
  await aws('s3 cp --only-show-errors --recursive up/ s3://my-bucket/jobs/');
  const one = await runCli(['--endpoint-name', 'my-endpoint', '--concurrency', 'auto', join(dir, 'single.ndjson')], { command: BINARY, env, input: input() });
  assert.equal(one.code, 0, one.stderr);
  single = stable(readFileSync(join(dir, 'single.ndjson'), 'utf8'));
  assert.equal(single.length, 400);
});

after(async () => {
  await slurm?.stop();
  await s3?.close();
  await emu?.close();
});

describe('docs/scale-out/slurm.sbatch on a real Slurm', () => {
  test('a 4-task array and the merge as a job after it (afterok): equal to one run', async () => {
    const d = join(dir, 'plain');
    mkdirSync(d);
    const { job, merge, result } = await submit(d, 'plain');
    assert.equal(await finished(merge, d), 'COMPLETED', logs(d));
    for (let i = 0; i < 4; i++) assert.equal((await slurm.state(`${job}_${i}`, env)).state, 'COMPLETED', logs(d));
    assert.equal(result, 's3://my-bucket/jobs/plain/results.ndjson');
    await mergedEqualsSingle('plain', d);
    // Each task wrote its log where sbatch ran, uploaded a complete outfile and sidecar.
    for (let i = 0; i < 4; i++) {
      assert.ok(existsSync(join(d, `sm-invoke-${job}_${i}.log`)), logs(d));
      const side = JSON.parse(readFileSync(join(d, 's3', 'out', `out.${i}.ndjson.shard.json`), 'utf8'));
      assert.equal(side.shard, `${i}/4`);
      assert.equal(side.complete.inputLines, 402);
    }
    assert.match(readFileSync(join(d, `slurm-${merge}.out`), 'utf8'), /merged 4 shards: 400 results -> s3:\/\/my-bucket\/jobs\/plain\/results\.ndjson/);
    // The tasks cleaned up their work directories.
    assert.deepEqual(readdirSync(join(dir, 'tmp')), []);
  });

  test('one task cancelled (scancel) and one requeued while running: both resume, the merge still equals one run', async () => {
    const d = join(dir, 'killed');
    mkdirSync(d);
    // A slow endpoint (4 answers in flight for the 4 tasks, 300 ms each: a task needs ~30 s for its
    // 100 records), so that the tasks are surely still sending when they are stopped, however the
    // machine's load delays this test's polling.
    emu.setConfig({ endpoints: { 'my-endpoint': { latencyMs: 300, maxConcurrency: 4 } } });
    emu.reset();
    const { job, merge } = await submit(d, 'killed');
    /** Result lines in the running task's outfile (in its work directory under TMPDIR). */
    const written = (i: number): number => {
      const work = readdirSync(join(dir, 'tmp')).find((w) => w.startsWith(`sm-invoke-shard-${i}.`));
      const f = work && join(dir, 'tmp', work, `out.${i}.ndjson`);
      return f && existsSync(f) ? readFileSync(f, 'utf8').split('\n').length - 1 : 0;
    };
    await waitFor(
      () => (written(1) >= 5 && written(2) >= 5 ? true : undefined),
      30_000,
      () => `tasks 1 and 2 wrote no results:\n${logs(d)}`,
    );
    // The endpoint throttles everything for a while: the stopped tasks cannot finish their shards
    // in sm-invoke's grace period after the signal, whatever the machine's speed.
    emu.setConfig({ endpoints: { 'my-endpoint': { maxConcurrency: 0 } } });
    await slurm.run('scancel', [`${job}_1`], env);
    await slurm.run('scontrol', ['requeue', `${job}_2`], env);
    // The cancelled task uploaded what it had before it exited (shard.sh's TERM trap).
    assert.equal(await finished(`${job}_1`, d), 'CANCELLED');
    await waitFor(
      async () => ((await slurm.state(`${job}_2`, env)).state === 'PENDING' ? true : undefined),
      30_000,
      () => `${job}_2 was not requeued:\n${logs(d)}`,
    );
    emu.setConfig({ endpoints: { 'my-endpoint': { maxConcurrency: null, latencyMs: 0 } } });
    await download('killed', join(d, 'stopped'), d);
    for (const i of [1, 2]) {
      const partial = readFileSync(join(d, 'stopped', 'out', `out.${i}.ndjson`), 'utf8')
        .split('\n')
        .filter(Boolean).length;
      assert.ok(partial >= 5 && partial < 100, `${partial} results uploaded by stopped task ${i}`);
    }
    // Slurm never runs an afterok job once a task it waits for failed or was cancelled, even after
    // a requeue (sbatch(1)); it says so (DependencyNeverSatisfied) once no task is pending.
    const waiting = await slurm.state(merge, env);
    assert.equal(waiting.state, 'PENDING');
    assert.match(waiting.reason, /^Dependency(NeverSatisfied)?$/);
    // docs/scale-out.md's way back: requeue the task (no 2-minute hold), point the merge at the whole array again.
    await slurm.run('scontrol', ['requeue', `${job}_1`], env);
    for (const task of [`${job}_1`, `${job}_2`]) {
      assert.equal((await slurm.state(task, env)).state, 'PENDING');
      await slurm.run('scontrol', ['update', `JobId=${task}`, 'StartTime=now'], env);
    }
    await slurm.run('scontrol', ['update', `JobId=${merge}`, `Dependency=afterany:${job}`], env);
    assert.equal(await finished(merge, d, 90_000), 'COMPLETED', logs(d));
    for (let i = 0; i < 4; i++) {
      const s = await slurm.state(`${job}_${i}`, env);
      assert.equal(s.state, 'COMPLETED', logs(d));
      assert.equal(s.restarts, i === 1 || i === 2 ? 1 : 0, `task ${i}: ${JSON.stringify(s)}`);
    }
    await mergedEqualsSingle('killed', d);
    // Both stopped tasks continued from their upload: the answered records were not sent again
    // (but for the few in flight when they were stopped).
    for (const i of [1, 2])
      assert.match(readFileSync(join(d, `sm-invoke-${job}_${i}.log`), 'utf8'), /resuming from .*out\.\d\.ndjson[\s\S]*records already answered/, logs(d));
    const answered = new Map<string, number>();
    for (const e of emu.log) if (e.status === 200) answered.set(e.body.toString(), (answered.get(e.body.toString()) ?? 0) + 1);
    assert.equal(answered.size, 400);
    const again = [...answered.values()].filter((n) => n > 1).length;
    // Sent twice: only what the two stopped tasks had in flight or answered behind a record still
    // in flight (their ordered windows: --concurrency auto, 40 at most here), never their uploads.
    assert.ok(again <= 80, `${again} records answered twice`);
    // The work directories are gone; the resumed runs' shared lock directory (by device and inode,
    // for hard links) stays, as /tmp's own do, with no lock left in it.
    assert.deepEqual(readdirSync(join(dir, 'tmp')), ['sm-invoke-locks']);
    assert.deepEqual(readdirSync(join(dir, 'tmp', 'sm-invoke-locks')), []);
  });
});
