// A real sshd on 127.0.0.1 for the tests (Debian's openssh-server), listening on two free ports so
// that it stands for two hosts: a host key and a client key made here, key login as the current
// user only, no PAM. What a remote command sees is set by the server (SetEnv), as a host's own
// configuration would: PATH, HOME and the AWS settings, AWS_EC2_METADATA_DISABLED=true among them.
// Every session carries SM_INVOKE_TEST_SSHD=<dir> in its environment: stop() kills what is left.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Daemon, killMarked, startDaemon, stopDaemon, waitFor } from './daemons.js';
import { tempDir } from './cli.js';
import { freePort } from './tinyproxy.js';

const MARK = 'SM_INVOKE_TEST_SSHD';

/** Throws, naming the missing tools and their Debian packages (the tests never skip). */
export function requireSshd(): void {
  const missing = ['/usr/sbin/sshd', 'ssh', 'ssh-keygen', 'parallel'].filter(
    (t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0,
  );
  if (missing.length > 0) {
    throw new Error(
      `not installed: ${missing.join(', ')} (Debian packages openssh-server, openssh-client, parallel; scripts/setup-tests.sh installs them): the ssh tests cannot run`,
    );
  }
}

export interface Sshd {
  /** Host aliases worker1 and worker2 (the two ports), defined in `sshConfig`. */
  hosts: [string, string];
  /** An ssh_config file for `ssh -F`: the aliases, the key, the known host key, BatchMode. */
  sshConfig: string;
  logs(): string;
  stop(): Promise<void>;
}

/** `remoteEnv`: the environment of every remote command (SetEnv; values without spaces or quotes). */
export async function startSshd(remoteEnv: Record<string, string>): Promise<Sshd> {
  requireSshd();
  const dir = tempDir('sm-invoke-sshd-');
  const keygen = (file: string): void => {
    const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'sm-invoke-test', '-f', file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
  };
  keygen(join(dir, 'host_key'));
  keygen(join(dir, 'client_key'));
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')));
  writeFileSync(join(dir, 'known_hosts'), `sm-invoke-test-host ${readFileSync(join(dir, 'host_key.pub'), 'utf8')}`);
  const user = (spawnSync('id', ['-un'], { encoding: 'utf8' }).stdout || 'root').trim();
  const env = { ...remoteEnv, [MARK]: dir };
  for (const [k, v] of Object.entries(env)) if (/[\s"']/.test(v)) throw new Error(`SetEnv ${k}: a value without spaces or quotes`);
  // sshd's privilege separation directory (the Debian service makes it at boot).
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  for (let tries = 0; tries < 5; tries++) {
    const ports = [await freePort(), await freePort()];
    const conf = join(dir, 'sshd_config');
    writeFileSync(
      conf,
      [
        ...ports.map((p) => `ListenAddress 127.0.0.1:${p}`),
        `HostKey ${join(dir, 'host_key')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        `AllowUsers ${user}`,
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password',
        'UsePAM no',
        // The key files are in a temp dir under /tmp (world-writable): the modes check would refuse them.
        'StrictModes no',
        'LogLevel VERBOSE',
        'MaxStartups 64',
        'MaxSessions 64',
        `SetEnv ${Object.entries(env)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`,
      ].join('\n') + '\n',
    );
    writeFileSync(
      join(dir, 'ssh_config'),
      [
        'Host worker1',
        '  HostName 127.0.0.1',
        `  Port ${ports[0]}`,
        'Host worker2',
        '  HostName 127.0.0.1',
        `  Port ${ports[1]}`,
        'Host *',
        `  User ${user}`,
        `  IdentityFile ${join(dir, 'client_key')}`,
        '  IdentitiesOnly yes',
        `  UserKnownHostsFile ${join(dir, 'known_hosts')}`,
        '  GlobalKnownHostsFile /dev/null',
        '  HostKeyAlias sm-invoke-test-host',
        '  StrictHostKeyChecking yes',
        '  BatchMode yes',
        '  ConnectTimeout 10',
      ].join('\n') + '\n',
    );
    const daemon: Daemon = startDaemon('sshd', '/usr/sbin/sshd', ['-D', '-e', '-f', conf], { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' });
    const killAll = (): void => {
      if (!daemon.exited) daemon.child.kill('SIGKILL');
      killMarked(MARK, dir);
    };
    const up = await waitFor(
      () => (daemon.exited ? false : ports.every((p) => daemon.output().includes(`port ${p}.`)) ? true : undefined),
      10_000,
      () => `sshd did not start: ${daemon.output()}`,
    ).catch(() => false);
    if (!up) {
      killAll();
      if (tries === 4) throw new Error(`sshd did not start: ${daemon.output()}`);
      continue;
    }
    process.once('exit', killAll);
    return {
      hosts: ['worker1', 'worker2'],
      sshConfig: join(dir, 'ssh_config'),
      logs: () => daemon.output(),
      async stop() {
        process.removeListener('exit', killAll);
        try {
          await stopDaemon(daemon);
        } finally {
          killAll();
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  }
  throw new Error('sshd did not start');
}
