// A run's network settings, resolved once before anything is sent: the proxy for each scheme
// (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), the CA bundle (--ca-bundle, AWS_CA_BUNDLE, the profile's
// ca_bundle) and --no-verify-ssl. The same settings serve InvokeEndpoint (transport.ts), the
// credential chain's STS and SSO calls (sdk-http.ts) and its container and instance metadata
// requests (node-http-proxy.ts). See docs/network.md.
import { readFileSync } from 'node:fs';
import { loadSharedConfigFiles } from '@smithy/core/config';
import { UsageError } from '../errors.js';
import { ProxyConfigError, readProxySettings, type ProxySettings } from './proxy.js';
import { chooseCaBundle, loadCaBundle, NO_VERIFY_WARNING, type CaBundleChoice } from './tls-trust.js';
import type { TransportOptions } from './transport.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface NetworkSetup {
  transport: TransportOptions;
  proxy: ProxySettings | undefined;
  caBundle: CaBundleChoice | undefined;
  /** Lines for --debug (no credentials in them). */
  describe: string[];
  /** Lines to print once on stderr (--no-verify-ssl). */
  warnings: string[];
}

export async function resolveNetwork(
  opts: { caBundle: string | undefined; noVerifySsl: boolean; profile: string | undefined },
  env: Env,
): Promise<NetworkSetup> {
  let proxy: ProxySettings | undefined;
  try {
    proxy = readProxySettings(env);
  } catch (err) {
    if (err instanceof ProxyConfigError) throw new UsageError(err.message);
    throw err;
  }

  let profileCa: string | undefined;
  const profileName = opts.profile ?? (env.AWS_PROFILE || 'default');
  if (opts.caBundle === undefined && !env.AWS_CA_BUNDLE) {
    const files = await loadSharedConfigFiles();
    // A config-file setting, as the AWS CLI reads it (the credentials file only as a fallback).
    profileCa = files.configFile[profileName]?.ca_bundle ?? files.credentialsFile[profileName]?.ca_bundle;
  }
  const caBundle = chooseCaBundle(opts.caBundle, env, { name: profileName, caBundle: profileCa });
  const ca = caBundle ? loadCaBundle(caBundle, (p) => readFileSync(p, 'utf8')) : undefined;

  const describe: string[] = [];
  if (proxy === undefined) describe.push('network: no proxy (HTTPS_PROXY / HTTP_PROXY not set)');
  else {
    for (const [scheme, route] of [
      ['https', proxy.https],
      ['http', proxy.http],
    ] as const) {
      describe.push(
        route ? `network: ${scheme} endpoints via proxy ${route.display} (${route.source})` : `network: ${scheme} endpoints direct (no ${scheme}_proxy)`,
      );
    }
    describe.push(`network: NO_PROXY ${proxy.noProxyText === '' ? '(none)' : JSON.stringify(proxy.noProxyText)}`);
  }
  describe.push(
    caBundle
      ? `network: trusting only the CAs in ${caBundle.file} (${caBundle.source}, ${ca!.length} certificates)`
      : `network: trusting Node's CA roots${env.NODE_EXTRA_CA_CERTS ? ' and NODE_EXTRA_CA_CERTS' : ''}`,
  );
  if (opts.noVerifySsl) describe.push('network: certificates not verified (--no-verify-ssl)');

  return {
    transport: { proxy, tls: { ca, rejectUnauthorized: !opts.noVerifySsl } },
    proxy,
    caBundle,
    describe,
    warnings: opts.noVerifySsl ? [NO_VERIFY_WARNING] : [],
  };
}
