// runPipeline against an emulator with the real signer and HTTP transport: the settings every
// in-process pipeline test shares. Tests spread their own overrides over `init`.
import type { FieldValues } from '../../src/core/fields.js';
import type { PipelineInit } from '../../src/core/pipeline.js';
import { parseTarget } from '../../src/core/request.js';
import { createSigner, type CredentialProvider } from '../../src/aws/sign.js';
import { createTransport, type Transport } from '../../src/http/transport.js';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY } from './cli.js';

export const STATIC_CREDENTIALS: CredentialProvider = async () => ({ accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY });

export interface PipelineHarness {
  init: PipelineInit;
  /** What the pipeline wrote, one chunk per write. */
  out: string[];
  transport: Transport;
}

export function pipelineHarness(url: string, opts: { concurrency: number; defaults: FieldValues; credentials?: CredentialProvider }): PipelineHarness {
  const transport = createTransport(opts.concurrency);
  const out: string[] = [];
  const init: PipelineInit = {
    lines: (async function* () {})(),
    decode: { envelope: false, defaults: opts.defaults, maxLineBytes: 1 << 20 },
    concurrency: opts.concurrency,
    target: parseTarget(url),
    sign: createSigner({ credentials: opts.credentials ?? STATIC_CREDENTIALS, region: 'us-east-1' }),
    send: transport.send,
    output: 'result',
    write: (t) => {
      out.push(typeof t === 'string' ? t : t.join(''));
    },
    warn: () => undefined,
    maxAttempts: 3,
    retryModelErrors: false,
    timeoutMs: 10_000,
    connectTimeoutMs: 5_000,
    maxErrors: 0,
  };
  return { init, out, transport };
}

/** Latin1 lines (what lines.ts yields) from text lines. */
export async function* latin1Lines(lines: Iterable<string>, onPull?: (n: number) => void): AsyncGenerator<string> {
  let n = 0;
  for (const l of lines) {
    onPull?.(++n);
    yield Buffer.from(l).toString('latin1');
  }
}
