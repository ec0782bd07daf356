// A one-node Slurm cluster on 127.0.0.1 for the tests, from Debian's slurm-wlm and munge: munged
// with a key made here, slurmctld and slurmd in the foreground, state and spool in a temp dir. For a
// container without systemd or cgroups: proctrack/linuxproc, task/none, no accounting. The node
// declares 4 CPUs (config_overrides: whatever the machine has) and 4 GiB. Ports are picked free at
// start. Every process of the cluster, jobs included, carries SLURM_CONF=<this conf> in its
// environment: stop() cancels the jobs, stops the daemons and kills what is left, by id.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { type Daemon, killMarked, pidsMarked, startDaemon, stopDaemon, waitFor } from './daemons.js';
import { tempDir } from './cli.js';
import { freePort } from './tinyproxy.js';

const TOOLS = ['munged', 'mungekey', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scontrol', 'scancel', 'sinfo'];

/** Throws, naming the missing tools and their Debian packages (the tests never skip). */
export function requireSlurm(): void {
  const missing = TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0);
  if (missing.length > 0) {
    throw new Error(
      `not installed: ${missing.join(', ')} (Debian packages slurm-wlm and munge; scripts/setup-tests.sh installs them): the Slurm tests cannot run`,
    );
  }
}

export interface Slurm {
  dir: string;
  conf: string;
  /** The environment for sbatch and the other clients: `base` plus SLURM_CONF. */
  env(base: Record<string, string>): Record<string, string>;
  /** Runs a Slurm client (sbatch, squeue, scontrol, scancel) asynchronously; throws on a non-zero exit. */
  run(cmd: string, args: string[], env: Record<string, string>, cwd?: string): Promise<string>;
  /** A job's (or array task's) state from scontrol, e.g. PENDING, RUNNING, COMPLETED, CANCELLED. */
  state(job: string, env: Record<string, string>): Promise<{ state: string; reason: string; restarts: number }>;
  /** The daemons' output, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

export async function startSlurm(): Promise<Slurm> {
  requireSlurm();
  const dir = tempDir('sm-invoke-slurm-');
  // munged wants every directory on the way to its socket searchable by all.
  chmodSync(dir, 0o755);
  for (const d of ['state', 'spool']) mkdirSync(join(dir, d));
  const conf = join(dir, 'slurm.conf');
  const socket = join(dir, 'munge.sock');
  const key = join(dir, 'munge.key');
  const mk = spawnSync('mungekey', ['--create', '--keyfile', key, '--bits', '1024'], { encoding: 'utf8' });
  if (mk.status !== 0) throw new Error(`mungekey failed: ${mk.stderr}`);
  const [ctldPort, slurmdPort, srunLow] = [await freePort(), await freePort(), await freePort()];
  const host = hostname().split('.')[0] ?? 'localhost';
  writeFileSync(
    conf,
    [
      'ClusterName=sminvoke',
      // slurmctld checks that it runs on the host named here; it is reached at the address.
      `SlurmctldHost=${host}(127.0.0.1)`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${slurmdPort}`,
      `SrunPortRange=${srunLow}-${srunLow + 20}`,
      'AuthType=auth/munge',
      'CredType=cred/munge',
      `AuthInfo=socket=${socket}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      `StateSaveLocation=${join(dir, 'state')}`,
      `SlurmdSpoolDir=${join(dir, 'spool')}`,
      `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
      `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      'JobCompType=jobcomp/none',
      'SwitchType=switch/none',
      'MpiDefault=none',
      'SchedulerType=sched/backfill',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_CPU',
      'SlurmdParameters=config_overrides',
      'ReturnToService=2',
      'MailProg=/bin/true',
      'KillWait=30',
      `NodeName=smi1 NodeAddr=127.0.0.1 NodeHostname=${host} CPUs=4 RealMemory=4096 State=UNKNOWN`,
      'PartitionName=main Nodes=smi1 Default=YES MaxTime=INFINITE State=UP',
    ].join('\n') + '\n',
  );
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', SLURM_CONF: conf, HOME: dir };
  const daemons: Daemon[] = [];
  const killAll = (): void => {
    for (const d of daemons) if (!d.exited) d.child.kill('SIGKILL');
    killMarked('SLURM_CONF', conf);
  };
  process.once('exit', killAll);
  const logs = (): string => daemons.map((d) => `--- ${d.name}\n${d.output().slice(-4000)}`).join('\n');
  const run = (cmd: string, args: string[], runEnv: Record<string, string>, cwd?: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { env: runEnv, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${err}`))));
    });
  const withConf = (base: Record<string, string>): Record<string, string> => ({ ...base, SLURM_CONF: conf });
  const stop = async (): Promise<void> => {
    process.removeListener('exit', killAll);
    try {
      if (daemons.some((d) => d.name === 'slurmctld' && !d.exited)) {
        await run('scancel', ['--full', '--user', 'root'], env).catch(() => undefined);
        // The jobs' processes end on the cancel; give them a little time, then kill what is left.
        await waitFor(
          () => (pidsMarked('SLURM_CONF', conf).filter((p) => !daemons.some((d) => d.child.pid === p)).length === 0 ? true : undefined),
          5_000,
          () => '',
        ).catch(() => undefined);
      }
      for (const d of [...daemons].reverse()) await stopDaemon(d);
    } finally {
      killAll();
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    daemons.push(
      startDaemon(
        'munged',
        'munged',
        ['--foreground', `--key-file=${key}`, `--socket=${socket}`, `--pid-file=${join(dir, 'munged.pid')}`, `--seed-file=${join(dir, 'munge.seed')}`],
        env,
      ),
    );
    await waitFor(
      () => (existsSync(socket) ? true : undefined),
      10_000,
      () => `munged did not start: ${logs()}`,
    );
    daemons.push(startDaemon('slurmctld', 'slurmctld', ['-D', '-c', '-f', conf], env));
    await waitFor(
      async () =>
        (await run('scontrol', ['ping'], env).then(
          (o) => /UP/.test(o),
          () => false,
        )) || undefined,
      15_000,
      () => `slurmctld did not start: ${logs()}`,
    );
    daemons.push(startDaemon('slurmd', 'slurmd', ['-D', '-N', 'smi1', '-f', conf], env));
    await waitFor(
      async () => ((await run('sinfo', ['-h', '-N', '-o', '%T'], env).catch(() => '')).trim() === 'idle' ? true : undefined),
      20_000,
      () => `slurmd did not come up idle: ${logs()}`,
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    dir,
    conf,
    env: withConf,
    run,
    async state(job, runEnv) {
      const out = await run('scontrol', ['show', 'job', '-o', job], runEnv);
      const line = out.split('\n').find((l) => l.includes(`JobId=`)) ?? '';
      const field = (name: string): string => new RegExp(`\\b${name}=(\\S*)`).exec(line)?.[1] ?? '';
      return { state: field('JobState'), reason: field('Reason'), restarts: Number(field('Restarts') || 0) };
    },
    logs,
    stop,
  };
}
