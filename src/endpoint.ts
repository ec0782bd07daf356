// Pure: where requests go and which region signs them (reference §1.2, §6.4, §6.5).
import { ENDPOINT_PREFIX } from './constants.js';
import { UsageError } from './errors.js';

interface Partition {
  regex: RegExp;
  dnsSuffix: string;
  dualStackDnsSuffix: string;
  name: string;
}

const PARTITIONS: readonly Partition[] = [
  { name: 'aws-cn', regex: /^cn-\w+-\d+$/, dnsSuffix: 'amazonaws.com.cn', dualStackDnsSuffix: 'api.amazonwebservices.com.cn' },
  { name: 'aws-us-gov', regex: /^us-gov-\w+-\d+$/, dnsSuffix: 'amazonaws.com', dualStackDnsSuffix: 'api.aws' },
  { name: 'aws-iso', regex: /^us-iso-\w+-\d+$/, dnsSuffix: 'c2s.ic.gov', dualStackDnsSuffix: 'api.aws.ic.gov' },
  { name: 'aws-iso-b', regex: /^us-isob-\w+-\d+$/, dnsSuffix: 'sc2s.sgov.gov', dualStackDnsSuffix: 'api.aws.scloud' },
  { name: 'aws-iso-e', regex: /^eu-isoe-\w+-\d+$/, dnsSuffix: 'cloud.adc-e.uk', dualStackDnsSuffix: 'api.cloud-aws.adc-e.uk' },
  { name: 'aws-iso-f', regex: /^us-isof-\w+-\d+$/, dnsSuffix: 'csp.hci.ic.gov', dualStackDnsSuffix: 'api.aws.hci.ic.gov' },
  { name: 'aws-eusc', regex: /^eusc-(de)-\w+-\d+$/, dnsSuffix: 'amazonaws.eu', dualStackDnsSuffix: 'api.amazonwebservices.eu' },
];
const AWS: Partition = { name: 'aws', regex: /^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$/, dnsSuffix: 'amazonaws.com', dualStackDnsSuffix: 'api.aws' };

/** A region must be a valid host label (the JS SDK's checkRegion). */
const HOST_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

export interface EndpointInput {
  region: string;
  useFips: boolean;
  useDualStack: boolean;
  /** An explicit or configured endpoint URL; wins over the rule set. */
  endpointUrl?: string | undefined;
}

export interface ResolvedEndpoint {
  /** Base URL, no trailing slash; requests append `/endpoints/{name}/invocations`. */
  url: string;
  /** The region requests are signed for. */
  signingRegion: string;
}

/** FIPS pseudo-regions (`fips-us-east-1`, `us-east-1-fips`, `aws-fips`) name a real region plus FIPS. */
export function realRegion(region: string): { region: string; fips: boolean } {
  if (region === 'fips-aws-global' || region === 'aws-fips') return { region: 'us-east-1', fips: true };
  if (region.startsWith('fips-')) return { region: region.slice(5), fips: true };
  if (region.endsWith('-fips')) return { region: region.slice(0, -5), fips: true };
  return { region, fips: false };
}

export function resolveEndpoint(input: EndpointInput): ResolvedEndpoint {
  const { region, fips: pseudoFips } = realRegion(input.region);
  if (!HOST_LABEL.test(region)) throw new UsageError(`region ${JSON.stringify(input.region)} is not a valid region name`);
  const fips = input.useFips || pseudoFips;
  if (input.endpointUrl !== undefined) {
    if (fips) throw new UsageError('Invalid Configuration: FIPS and custom endpoint are not supported');
    if (input.useDualStack) throw new UsageError('Invalid Configuration: Dualstack and custom endpoint are not supported');
    return { url: input.endpointUrl.replace(/\/$/, ''), signingRegion: region };
  }
  const p = PARTITIONS.find((x) => x.regex.test(region)) ?? AWS;
  let host: string;
  if (fips && input.useDualStack) host = `runtime.sagemaker-fips.${region}.${p.dualStackDnsSuffix}`;
  else if (fips && p.name === 'aws') host = `runtime-fips.sagemaker.${region}.${p.dnsSuffix}`;
  else if (fips && p.name === 'aws-us-gov') host = `${ENDPOINT_PREFIX}.${region}.${p.dnsSuffix}`;
  else if (fips) host = `runtime.sagemaker-fips.${region}.${p.dnsSuffix}`;
  else if (input.useDualStack) host = `${ENDPOINT_PREFIX}.${region}.${p.dualStackDnsSuffix}`;
  else host = `${ENDPOINT_PREFIX}.${region}.${p.dnsSuffix}`;
  return { url: `https://${host}`, signingRegion: region };
}

/** AWS_USE_FIPS_ENDPOINT-style booleans: "true"/"false" (any case); anything else is an error. */
export function parseBool(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  const v = value.toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new UsageError(`${name} must be "true" or "false", got ${JSON.stringify(value)}`);
}
