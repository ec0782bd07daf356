// Region, endpoint URL, endpoint variants and retry settings from flags, environment, the shared config
// file and (for the region, when nothing else gives one) instance metadata, in the AWS CLI's and SDKs'
// order (docs/wire.md §5.3, §6.4, §6.5; docs/aws-config.md). Reads ~/.aws/config; sends nothing, except the
// instance-metadata region lookup on loopback-or-link-local IMDS.
import { loadSharedConfigFiles, NODE_REGION_CONFIG_OPTIONS } from '@smithy/core/config';
import { UsageError } from '../errors.js';
import { parseBool, resolveEndpoint, type ResolvedEndpoint } from './endpoint.js';
import { resolveRetrySettings, type RetrySettings } from './retry-config.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface AwsTarget extends ResolvedEndpoint {
  /** The profile credentials come from, when one was named (flag or AWS_PROFILE). */
  profile: string | undefined;
  /** The region requests are signed for, as configured (a FIPS pseudo-region included). */
  region: string;
  /** Where the region came from, for messages. */
  regionSource: string;
  retry: RetrySettings;
}

/** What the command line says about where to send and how to retry. */
export interface TargetInput {
  region: string | undefined;
  profile: string | undefined;
  endpointUrl: string | undefined;
  /** --max-attempts, when given (it wins over AWS_MAX_ATTEMPTS and the profile). */
  maxAttempts: number | undefined;
}

export interface TargetDeps {
  /**
   * The region from EC2 instance metadata, or undefined. Default: the JS SDK's own fallback, the `default`
   * of @smithy/core/config's NODE_REGION_CONFIG_OPTIONS (IMDSv2: a token PUT, then GET
   * /latest/meta-data/placement/region, 1 s timeout per request, AWS_EC2_METADATA_SERVICE_ENDPOINT honoured).
   */
  instanceRegion?: () => Promise<string | undefined>;
}

export const INSTANCE_METADATA = 'instance metadata (IMDS)';

const SERVICE_KEY = 'sagemaker_runtime';

export async function resolveTarget(opts: TargetInput, env: Env, deps: TargetDeps = {}): Promise<AwsTarget> {
  const explicitProfile = opts.profile ?? nonEmpty(env.AWS_PROFILE);
  const profileName = explicitProfile ?? 'default';
  const files = await loadSharedConfigFiles({
    ignoreCache: true,
    filepath: nonEmpty(env.AWS_SHARED_CREDENTIALS_FILE),
    configFilepath: nonEmpty(env.AWS_CONFIG_FILE),
  });
  const profile: Record<string, string | undefined> = {
    ...(files.configFile[profileName] ?? {}),
    ...(files.credentialsFile[profileName] ?? {}),
  };
  if (opts.profile !== undefined && files.configFile[profileName] === undefined && files.credentialsFile[profileName] === undefined) {
    throw new UsageError(
      `profile ${JSON.stringify(profileName)} is not in the shared config or credentials file (AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE)`,
    );
  }

  // The SDK's own region selectors (AWS_REGION, the profile's `region`), with the AWS CLI's
  // AWS_DEFAULT_REGION between them, then the SDK's instance-metadata fallback.
  let region: string | undefined;
  let regionSource = '';
  for (const [value, source] of [
    [opts.region, '--region'],
    [nonEmpty(NODE_REGION_CONFIG_OPTIONS.environmentVariableSelector(env)), 'AWS_REGION'],
    [nonEmpty(env.AWS_DEFAULT_REGION), 'AWS_DEFAULT_REGION'],
    [nonEmpty(NODE_REGION_CONFIG_OPTIONS.configFileSelector(profile)), `profile ${JSON.stringify(profileName)} (region)`],
  ] as const) {
    if (value !== undefined) {
      region = value;
      regionSource = source;
      break;
    }
  }
  // The SDK skips instance metadata when AWS_EC2_METADATA_DISABLED has any value.
  const imdsOff = nonEmpty(env.AWS_EC2_METADATA_DISABLED) !== undefined;
  if (region === undefined && !imdsOff) {
    region = await (deps.instanceRegion ?? sdkInstanceRegion)();
    regionSource = INSTANCE_METADATA;
  }
  if (region === undefined) {
    throw new UsageError(
      `no region: give --region, or set AWS_REGION, or region in profile ${JSON.stringify(profileName)} of the AWS config file` +
        ` (${imdsOff ? 'instance metadata is off: AWS_EC2_METADATA_DISABLED' : 'instance metadata gave none'})`,
    );
  }

  const useFips = parseBool('AWS_USE_FIPS_ENDPOINT', env.AWS_USE_FIPS_ENDPOINT) ?? parseBool('use_fips_endpoint', profile.use_fips_endpoint) ?? false;
  const useDualStack =
    parseBool('AWS_USE_DUALSTACK_ENDPOINT', env.AWS_USE_DUALSTACK_ENDPOINT) ?? parseBool('use_dualstack_endpoint', profile.use_dualstack_endpoint) ?? false;

  let endpointUrl = opts.endpointUrl;
  const ignoreConfigured =
    parseBool('AWS_IGNORE_CONFIGURED_ENDPOINT_URLS', env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS) ??
    parseBool('ignore_configured_endpoint_urls', profile.ignore_configured_endpoint_urls) ??
    false;
  if (endpointUrl === undefined && !ignoreConfigured) {
    endpointUrl =
      nonEmpty(env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME) ??
      nonEmpty(env.AWS_ENDPOINT_URL) ??
      servicesEndpoint(files.configFile, profile, profileName) ??
      nonEmpty(profile.endpoint_url);
    if (endpointUrl !== undefined && !/^https?:\/\/[^/]/.test(endpointUrl)) {
      throw new UsageError(`configured endpoint URL ${JSON.stringify(endpointUrl)} is not an http(s) URL`);
    }
  }
  const retry = resolveRetrySettings(opts.maxAttempts, env, profile, profileName);
  return {
    ...resolveEndpoint({ region, useFips, useDualStack, endpointUrl }),
    profile: explicitProfile,
    region,
    regionSource,
    retry,
  };
}

/** The JS SDK's region-from-instance-metadata fallback; undefined when it has none (it throws "Region is missing"). */
async function sdkInstanceRegion(): Promise<string | undefined> {
  const fallback = NODE_REGION_CONFIG_OPTIONS.default;
  try {
    return nonEmpty(typeof fallback === 'function' ? await fallback() : fallback);
  } catch {
    return undefined;
  }
}

/** `services = NAME` in the profile selects `[services NAME]`, whose `sagemaker_runtime = \n endpoint_url = ...` applies. */
function servicesEndpoint(
  configFile: Record<string, Record<string, string | undefined> | undefined>,
  profile: Record<string, string | undefined>,
  profileName: string,
): string | undefined {
  const name = nonEmpty(profile.services);
  if (name === undefined) return undefined;
  const section = configFile[`services.${name}`];
  if (section === undefined)
    throw new UsageError(`profile ${JSON.stringify(profileName)} names services section ${JSON.stringify(name)}, which the config file does not have`);
  return nonEmpty(section[`${SERVICE_KEY}.endpoint_url`]);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
