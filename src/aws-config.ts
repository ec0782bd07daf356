// Region, endpoint URL and endpoint variants from flags, environment and the shared config file,
// in the AWS CLI's order (reference §5.3, §6.4, §6.5). Reads ~/.aws/config; sends nothing.
import { loadSharedConfigFiles } from '@smithy/core/config';
import type { Options } from './args.js';
import { UsageError } from './errors.js';
import { parseBool, resolveEndpoint, type ResolvedEndpoint } from './endpoint.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface AwsTarget extends ResolvedEndpoint {
  /** The profile credentials come from, when one was named (flag or AWS_PROFILE). */
  profile: string | undefined;
  /** Where the region came from, for messages. */
  regionSource: string;
}

const SERVICE_KEY = 'sagemaker_runtime';

export async function resolveTarget(opts: Pick<Options, 'region' | 'profile' | 'endpointUrl'>, env: Env): Promise<AwsTarget> {
  const explicitProfile = opts.profile ?? nonEmpty(env.AWS_PROFILE);
  const profileName = explicitProfile ?? 'default';
  const files = await loadSharedConfigFiles({ ignoreCache: true });
  const profile: Record<string, string | undefined> = {
    ...(files.configFile[profileName] ?? {}),
    ...(files.credentialsFile[profileName] ?? {}),
  };
  if (opts.profile !== undefined && files.configFile[profileName] === undefined && files.credentialsFile[profileName] === undefined) {
    throw new UsageError(`profile ${JSON.stringify(profileName)} is not in the shared config or credentials file (AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE)`);
  }

  let region: string | undefined;
  let regionSource = '';
  for (const [value, source] of [
    [opts.region, '--region'],
    [nonEmpty(env.AWS_REGION), 'AWS_REGION'],
    [nonEmpty(env.AWS_DEFAULT_REGION), 'AWS_DEFAULT_REGION'],
    [nonEmpty(profile.region), `profile ${profileName}`],
  ] as const) {
    if (value !== undefined) {
      region = value;
      regionSource = source;
      break;
    }
  }
  if (region === undefined) {
    throw new UsageError(`no region: give --region, or set AWS_REGION, or region in profile ${JSON.stringify(profileName)} of the AWS config file`);
  }

  const useFips = parseBool('AWS_USE_FIPS_ENDPOINT', env.AWS_USE_FIPS_ENDPOINT) ?? parseBool('use_fips_endpoint', profile.use_fips_endpoint) ?? false;
  const useDualStack = parseBool('AWS_USE_DUALSTACK_ENDPOINT', env.AWS_USE_DUALSTACK_ENDPOINT)
    ?? parseBool('use_dualstack_endpoint', profile.use_dualstack_endpoint) ?? false;

  let endpointUrl = opts.endpointUrl;
  const ignoreConfigured = parseBool('AWS_IGNORE_CONFIGURED_ENDPOINT_URLS', env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS)
    ?? parseBool('ignore_configured_endpoint_urls', profile.ignore_configured_endpoint_urls) ?? false;
  if (endpointUrl === undefined && !ignoreConfigured) {
    endpointUrl = nonEmpty(env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME) ?? nonEmpty(env.AWS_ENDPOINT_URL) ?? servicesEndpoint(files.configFile, profile, profileName)
      ?? nonEmpty(profile.endpoint_url);
    if (endpointUrl !== undefined && !/^https?:\/\/[^/]/.test(endpointUrl)) {
      throw new UsageError(`configured endpoint URL ${JSON.stringify(endpointUrl)} is not an http(s) URL`);
    }
  }
  return { ...resolveEndpoint({ region, useFips, useDualStack, endpointUrl }), profile: explicitProfile, regionSource };
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
  if (section === undefined) throw new UsageError(`profile ${JSON.stringify(profileName)} names services section ${JSON.stringify(name)}, which the config file does not have`);
  return nonEmpty(section[`${SERVICE_KEY}.endpoint_url`]);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
