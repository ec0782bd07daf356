// The AWS side of a run: where to send (region, endpoint, retry settings), the network settings
// (proxy, CA bundle), and the credential chain with its own calls going through the same network.
import type { AwsCredentialIdentity } from '@smithy/types';
import { resolveTarget, type AwsTarget } from '../aws/config.js';
import { createSigner, type Sign } from '../aws/sign.js';
import { resolveNetwork, type NetworkSetup } from '../http/network.js';
import { createTransport } from '../http/transport.js';
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
  const target = await resolveTarget({ ...opts, maxAttempts: opts.given.has('max-attempts') ? opts.maxAttempts : undefined }, io.env);
  // Proxy, CA bundle, --no-verify-ssl: for InvokeEndpoint and the credential chain alike (network.ts).
  const network = await resolveNetwork(opts, io.env);
  for (const w of network.warnings) stderr.say(w);
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
  const chain = fromNodeProviderChain({ ...(target.profile !== undefined ? { profile: target.profile } : {}), clientConfig: { requestHandler } });
  // Start resolving now, in parallel with the first reads; the signer awaits the same memoized
  // promise, and a failure surfaces as one fatal error on the first record.
  chain().catch(() => undefined);
  return chain;
}
