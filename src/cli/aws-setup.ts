// The AWS side of a run: where to send (region, endpoint, retry settings), the network settings
// (proxy, CA bundle), and the credential chain with its own calls going through the same network.
import type { AwsCredentialIdentity } from '@smithy/types';
import { resolveTarget, type AwsTarget } from '../aws/config.js';
import { createSigner, type Sign } from '../aws/sign.js';
import { resolveNetwork, type NetworkSetup } from '../http/network.js';
import { createTransport } from '../http/transport.js';
import { rememberSecret } from '../secrets.js';
import { applyRetrySettings, type Options } from './args.js';
import type { Io } from './io.js';
import type { Stderr } from './stderr.js';

type Provider = (o?: { forceRefresh?: boolean }) => Promise<AwsCredentialIdentity>;

export interface AwsSetup {
  target: AwsTarget;
  network: NetworkSetup;
  /** The options with the retry settings applied (AWS_MAX_ATTEMPTS, retry_mode adaptive = --concurrency auto). */
  options: Options;
  sign: Sign;
  /** Forces new credentials (the service said they expired). */
  refreshCredentials: () => Promise<void>;
  /** The credential chain itself (--async's S3 client signs with it); undefined in a dry run. */
  credentials: Provider | undefined;
}

export async function setupAws(opts: Options, io: Io, stderr: Stderr): Promise<AwsSetup> {
  // Redacted from every message from the start, even if the chain never gets to use them (secrets.ts).
  rememberSecret(io.env.AWS_SECRET_ACCESS_KEY);
  rememberSecret(io.env.AWS_SESSION_TOKEN);
  const target = await resolveTarget({ ...opts, maxAttempts: opts.given.has('max-attempts') ? opts.maxAttempts : undefined }, io.env);
  // Proxy, CA bundle, --no-verify-ssl: for InvokeEndpoint and the credential chain alike (network.ts).
  const network = await resolveNetwork(opts, io.env);
  for (const w of network.warnings) stderr.note(w);
  if (opts.debug) for (const line of network.describe) stderr.say(`debug: ${line}`);
  // A dry run needs no credentials: nothing is signed.
  const provider = opts.dryRun ? undefined : await credentialChain(opts, target, network);
  const options = applyRetrySettings(opts, target.retry);
  if (opts.debug) {
    stderr.say(
      `region ${target.region} (from ${target.regionSource}); requests go to ${target.url}; max attempts ${options.maxAttempts} ` +
        `(from ${target.retry.maxAttemptsSource}); retry mode ${target.retry.retryModeConfigured} (from ${target.retry.retryModeSource})`,
    );
  }
  return {
    target,
    network,
    options,
    sign: provider
      ? createSigner({ credentials: () => provider(), region: target.signingRegion })
      : () => Promise.reject(new Error('dry run: nothing is signed')),
    refreshCredentials: async () => {
      await provider?.({ forceRefresh: true });
    },
    credentials: provider,
  };
}

async function credentialChain(opts: Options, target: AwsTarget, network: NetworkSetup): Promise<Provider> {
  const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
  const { createSdkRequestHandler } = await import('../http/sdk-http.js');
  if (network.proxy) (await import('../http/node-http-proxy.js')).routeNodeHttpThroughProxy(network.proxy);
  const requestHandler = createSdkRequestHandler(createTransport(4, network.transport).send, { connectTimeoutMs: opts.connectTimeoutMs, timeoutMs: 30_000 });
  const told = providerMessages();
  const sdkChain = fromNodeProviderChain({
    ...(target.profile !== undefined ? { profile: target.profile } : {}),
    clientConfig: { requestHandler },
    logger: told.logger,
  });
  const chain: Provider = (o) => sdkChain(o).catch((err: unknown) => Promise.reject(told.explain(err)));
  // Start resolving now, in parallel with the first reads; the signer awaits the same memoized
  // promise, and a failure surfaces as one fatal error on the first record.
  chain().catch(() => undefined);
  return chain;
}

/**
 * The chain ends with "Could not load credentials from any providers" and keeps why each provider
 * failed to itself (its logger's debug lines). A credential_process that exits non-zero, or prints
 * something else than credentials, says why on its stderr: that is what the user needs, as the AWS
 * CLI shows it ("Error when retrieving credentials from custom-process: ...").
 */
function providerMessages(): { logger: Record<'debug' | 'info' | 'warn' | 'error' | 'trace', (...a: unknown[]) => void>; explain: (err: unknown) => unknown } {
  let processFailure: string | undefined;
  const note = (...args: unknown[]): void => {
    const text = args.map(String).join(' ');
    const failed = /Command failed: ([^\n]*)\n?([\s\S]*)$/.exec(text);
    if (failed)
      processFailure = `the profile's credential_process (${failed[1]!.trim()}) failed: ${failed[2]!.trim() || 'it exited non-zero and wrote nothing on stderr'}`;
    else if (/credential_process/i.test(text) && !/did not contain credential_process/.test(text))
      processFailure = `the profile's credential_process: ${text.replace(/^@smithy\/property-provider\s*(?:->|\(!\))\s*/, '').trim()}`;
  };
  const ignore = (): void => undefined;
  return {
    logger: { debug: note, info: ignore, warn: ignore, error: ignore, trace: ignore },
    explain: (err) => {
      if (processFailure === undefined || !(err instanceof Error)) return err;
      const e = new Error(`${processFailure} (${err.message})`);
      e.name = err.name;
      return e;
    },
  };
}
