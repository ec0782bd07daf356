// A real forward proxy for the tests: Debian's tinyproxy, started in the foreground with a config
// of our own on 127.0.0.1 (tinyproxy has no "Port 0": a free port is picked first, and the start is
// tried again if another process takes it meanwhile), logging every request to a temp file.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Tinyproxy {
  port: number;
  /** http://127.0.0.1:PORT (with user:pass@ when asked for). */
  url: string;
  /** The log so far (LogLevel Info: one `Request` line per forwarded request, `CONNECT` for tunnels). */
  log(): string;
  stop(): Promise<void>;
}

export interface TinyproxyOptions {
  /** Ports CONNECT may reach (the emulator's TLS port). */
  connectPorts?: number[];
  basicAuth?: { user: string; password: string };
}

/** Why the proxy tests cannot run here, or undefined when they can (the tests then fail: tools.ts). */
export function tinyproxyMissing(): string | undefined {
  const r = spawnSync('tinyproxy', ['-v'], { encoding: 'utf8' });
  if (!r.error && r.status === 0) return undefined;
  return 'tinyproxy is not installed (Debian package tinyproxy)';
}

/**
 * What clients did through the proxy, from its log: connections accepted and requests read (each
 * logged before the proxy answers, so complete once a client has its answers). Lines about closed
 * connections come later and are left out.
 */
export function proxyTraffic(log: string): { connections: number; requests: number } {
  return {
    connections: (log.match(/Connect \(file descriptor \d+\)/g) ?? []).length,
    requests: (log.match(/Request \(file descriptor \d+\)/g) ?? []).length,
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

export async function startTinyproxy(opts: TinyproxyOptions = {}): Promise<Tinyproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'sm-invoke-tinyproxy-'));
  const logFile = join(dir, 'tinyproxy.log');
  for (let tries = 0; tries < 5; tries++) {
    const port = await freePort();
    const conf =
      [
        `Port ${port}`,
        'Listen 127.0.0.1',
        'Timeout 30',
        `LogFile "${logFile}"`,
        'LogLevel Info',
        'MaxClients 64',
        'Allow 127.0.0.1',
        ...(opts.connectPorts ?? []).map((p) => `ConnectPort ${p}`),
        ...(opts.basicAuth ? [`BasicAuth ${opts.basicAuth.user} ${opts.basicAuth.password}`] : []),
      ].join('\n') + '\n';
    const confFile = join(dir, 'tinyproxy.conf');
    writeFileSync(confFile, conf);
    const child: ChildProcess = spawn('tinyproxy', ['-d', '-c', confFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    const deadline = Date.now() + 5_000;
    while (!exited && Date.now() < deadline && !(await accepts(port))) await new Promise((r) => setTimeout(r, 25));
    if (exited || Date.now() >= deadline) {
      child.kill('SIGKILL');
      if (tries === 4) throw new Error(`tinyproxy did not start: ${stderr}${existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''}`);
      continue;
    }
    const auth = opts.basicAuth ? `${encodeURIComponent(opts.basicAuth.user)}:${encodeURIComponent(opts.basicAuth.password)}@` : '';
    return {
      port,
      url: `http://${auth}127.0.0.1:${port}`,
      log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
      stop: async () => {
        if (!exited) {
          const gone = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 2_000);
          await gone;
          clearTimeout(t);
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  throw new Error('tinyproxy did not start');
}
