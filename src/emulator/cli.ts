// `sm-invoke emulate`: run the emulator in the foreground until SIGINT/SIGTERM.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { EXAMPLE_CREDENTIAL, type EmulatorConfigInput, parseConfigJson } from './config.js';
import { type RequestLogEntry, startEmulator } from './server.js';

export const USAGE = `usage: sm-invoke emulate [options]

Run a local Amazon SageMaker Runtime emulator (InvokeEndpoint and InvokeEndpointWithResponseStream).

options:
  --port N                 port to listen on (default 0: any free port)
  --host H                 address to bind (default 127.0.0.1)
  --config FILE            JSON config file (see src/emulator/README.md)
  --latency-ms N           model latency for every endpoint, in ms
  --endpoint NAME          serve this endpoint (repeatable; replaces demo, my-ep)
  --region R               region expected in signatures (default us-east-1)
  --access-key-id K        accepted access key (with --secret-access-key); replaces the default
  --secret-access-key S    its secret
  --seed N                 PRNG seed for routing, latency ranges, random faults
  --tls-cert FILE          serve HTTPS with this PEM certificate (chain allowed; with --tls-key)
  --tls-key FILE           the certificate's PEM private key
  --async-output S3URI     serve InvokeEndpointAsync: write outputs under s3://bucket/prefix
  --async-failure S3URI    ... and failures under this one (default: <output>-failures)
  --s3-endpoint-url URL    the S3-compatible server outputs go to (path-style)
  --async-workers K        async jobs running at once per endpoint (default 8)
  --quiet                  do not log requests to stderr
  -h, --help               show this help

credentials accepted by default: the AWS documentation's example key pair
  AWS_ACCESS_KEY_ID=${EXAMPLE_CREDENTIAL.accessKeyId}
  AWS_SECRET_ACCESS_KEY=${EXAMPLE_CREDENTIAL.secretAccessKey}
(a config file's "credentials" list, or --access-key-id/--secret-access-key, replace it)
`;

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Stops the emulator when aborted (in addition to SIGINT/SIGTERM). */
  signal?: AbortSignal;
}

const defaultIo: CliIo = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
};

class UsageError extends Error {}

function intFlag(name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) throw new UsageError(`--${name} must be an integer ${min}-${max}, got '${v}'`);
  return n;
}

interface Built {
  config: EmulatorConfigInput;
  quiet: boolean;
  tls?: { cert: Buffer; key: Buffer };
}

async function readPem(flag: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new UsageError(`cannot read --${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

async function buildConfig(argv: string[]): Promise<Built | 'help'> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        config: { type: 'string' },
        'latency-ms': { type: 'string' },
        endpoint: { type: 'string', multiple: true },
        region: { type: 'string' },
        'access-key-id': { type: 'string' },
        'secret-access-key': { type: 'string' },
        seed: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        quiet: { type: 'boolean' },
        'async-output': { type: 'string' },
        'async-failure': { type: 'string' },
        's3-endpoint-url': { type: 'string' },
        'async-workers': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]!);
  }
  const v = parsed.values;
  if (v.help) return 'help';

  let config: EmulatorConfigInput = {};
  if (v.config !== undefined) {
    let text: string;
    try {
      text = await readFile(v.config, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read --config ${v.config}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    config = parseConfigJson(text);
  }
  const port = intFlag('port', v.port, 0, 65535);
  if (port !== undefined) config.port = port;
  if (v.host !== undefined) config.host = v.host;
  const latency = intFlag('latency-ms', v['latency-ms'], 0, 3_600_000);
  if (latency !== undefined) config.latencyMs = latency;
  const seed = intFlag('seed', v.seed, 0, 2 ** 32 - 1);
  if (seed !== undefined) config.seed = seed;
  if (v.region !== undefined) config.region = v.region;
  if ((v['access-key-id'] === undefined) !== (v['secret-access-key'] === undefined)) {
    throw new UsageError('--access-key-id and --secret-access-key must be given together');
  }
  if (v['access-key-id'] !== undefined) {
    config.credentials = [{ accessKeyId: v['access-key-id'], secretAccessKey: v['secret-access-key']! }];
  }
  if (v.endpoint) {
    config.endpoints = { ...config.endpoints };
    for (const name of v.endpoint) config.endpoints[name] ??= { variants: [{ name: 'AllTraffic', weight: 1 }] };
  }
  if ((v['tls-cert'] === undefined) !== (v['tls-key'] === undefined)) {
    throw new UsageError('--tls-cert and --tls-key must be given together');
  }
  asyncFlags(config, v);
  const built: Built = { config, quiet: v.quiet === true };
  if (v['tls-cert'] !== undefined) built.tls = { cert: await readPem('tls-cert', v['tls-cert']), key: await readPem('tls-key', v['tls-key']!) };
  return built;
}

/** --async-output and its companions: the config's `async` (see src/emulator/README.md). */
function asyncFlags(config: EmulatorConfigInput, v: Record<string, string | boolean | string[] | undefined>): void {
  const out = v['async-output'] as string | undefined;
  const given = ['async-failure', 's3-endpoint-url', 'async-workers'].filter((k) => v[k] !== undefined);
  if (out === undefined) {
    if (given.length > 0 && config.async === undefined) throw new UsageError(`--${given[0]} goes with --async-output`);
    if (given.length === 0) return;
  }
  const prev = config.async;
  const s3 = (v['s3-endpoint-url'] as string | undefined) ?? prev?.s3EndpointUrl;
  if (s3 === undefined) throw new UsageError('--async-output needs --s3-endpoint-url (the S3-compatible server to write to)');
  const outputPath = out ?? prev!.outputPath;
  const workers = intFlag('async-workers', v['async-workers'] as string | undefined, 1, 100_000);
  config.async = {
    ...prev,
    outputPath,
    failurePath: (v['async-failure'] as string | undefined) ?? prev?.failurePath ?? `${outputPath.replace(/\/$/, '')}-failures`,
    s3EndpointUrl: s3,
    ...(workers !== undefined ? { workers } : {}),
  };
}

const describe = (e: RequestLogEntry): string =>
  `${e.time} ${e.method} ${e.path} ${e.status || '-'}${e.errorCode ? ` ${e.errorCode}` : ''}` +
  `${e.fault ? ` fault=${e.fault}` : ''}${e.variant ? ` variant=${e.variant}` : ''} attempt=${e.attempt}\n`;

/** Runs `sm-invoke emulate`; resolves with the exit code. */
export async function runEmulatorCli(argv: string[], io: CliIo = defaultIo): Promise<number> {
  let built;
  try {
    built = await buildConfig(argv);
  } catch (err) {
    io.stderr(`sm-invoke emulate: ${(err as Error).message}\n`);
    return 2;
  }
  if (built === 'help') {
    io.stdout(USAGE);
    return 0;
  }
  const { config, quiet, tls } = built;

  let emu;
  try {
    emu = await startEmulator(config, { ...(quiet ? {} : { onRequest: (e: RequestLogEntry) => io.stderr(describe(e)) }), ...(tls ? { tls } : {}) });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (tls && /PEM|key|certificate|asn1|ssl/i.test(e.message) && e.code !== 'EADDRINUSE') {
      io.stderr(`sm-invoke emulate: --tls-cert / --tls-key: ${e.message}\n`);
      return 2;
    }
    if (e instanceof TypeError) {
      io.stderr(`sm-invoke emulate: ${e.message}\n`);
      return 2;
    }
    io.stderr(`sm-invoke emulate: cannot listen on ${config.host ?? '127.0.0.1'}:${config.port ?? 0}: ${e.code ?? e.message}\n`);
    return 1;
  }
  io.stdout(`sm-invoke emulator listening on ${emu.url}\n`);
  const keys = (config.credentials ?? [EXAMPLE_CREDENTIAL]).map((c) => c.accessKeyId);
  if (!quiet)
    io.stderr(
      `sm-invoke emulator: accepting access key id ${keys.join(', ') || '(none)'}${config.credentials === undefined ? " (the AWS documentation's example; secret in --help)" : ''}\n`,
    );

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      io.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (io.signal?.aborted) stop();
    else io.signal?.addEventListener('abort', stop);
  });
  await emu.close();
  return 0;
}
