// A throw-away certificate authority and a server certificate for localhost / 127.0.0.1, made with
// openssl at test time (EC P-256 keys: fast). Nothing is kept after the test's temp dir goes.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCerts {
  dir: string;
  /** The CA certificate (PEM file): what a client must trust. */
  caFile: string;
  /** The server's certificate (signed by the CA) and key, PEM files. */
  certFile: string;
  keyFile: string;
  ca: string;
  cert: string;
  key: string;
}

/** Whether openssl can be run here (CI installs it: .ci/run). */
export function haveOpenssl(): boolean {
  const r = spawnSync('openssl', ['version'], { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.error?.message ?? r.stderr}`);
}

export function makeTestCerts(dir: string, names = 'DNS:localhost,IP:127.0.0.1'): TestCerts {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=sm-invoke test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  writeFileSync(
    join(dir, 'server.ext'),
    [`subjectAltName=${names}`, 'basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth'].join('\n') + '\n',
  );
  openssl(
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext'],
    dir,
  );
  const caFile = join(dir, 'ca.pem');
  const certFile = join(dir, 'server.pem');
  const keyFile = join(dir, 'server.key');
  return {
    dir,
    caFile,
    certFile,
    keyFile,
    ca: readFileSync(caFile, 'utf8'),
    cert: readFileSync(certFile, 'utf8'),
    key: readFileSync(keyFile, 'utf8'),
  };
}
