// Pure: where requests go and which region signs them (docs/wire.md §1.2, §6.4, §6.5). The partition of a
// region (its DNS suffixes, FIPS and dual-stack support, and the region patterns that place an unknown
// region) comes from the AWS SDK's own partition data (@aws-sdk/core's `partition()`, the
// `aws.partition` function of every endpoint rule set); the rules below are SageMaker Runtime's
// endpoint rule set.
import { partition } from '@aws-sdk/core/client';
import { ENDPOINT_PREFIX } from '../constants.js';
import { UsageError } from '../errors.js';

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

/**
 * FIPS pseudo-regions (`fips-us-east-1`, `us-east-1-fips`, `fips-dkr-us-east-1`, `aws-fips`) name a real
 * region plus FIPS: the JS SDK's isFipsRegion / getRealRegion (@smithy/core/config).
 */
export function realRegion(region: string): { region: string; fips: boolean } {
  if (!region.startsWith('fips-') && !region.endsWith('-fips')) return { region, fips: false };
  if (region === 'fips-aws-global' || region === 'aws-fips') return { region: 'us-east-1', fips: true };
  return { region: region.replace(/fips-(dkr-|prod-)?|-fips/, ''), fips: true };
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
  const p = partition(region);
  if (fips && input.useDualStack && !(p.supportsFIPS && p.supportsDualStack)) {
    throw new UsageError(`FIPS and DualStack are enabled, but partition ${p.name} (region ${region}) does not support one or both`);
  }
  if (fips && !p.supportsFIPS) throw new UsageError(`FIPS is enabled but partition ${p.name} (region ${region}) does not support FIPS`);
  if (input.useDualStack && !p.supportsDualStack) {
    throw new UsageError(`DualStack is enabled but partition ${p.name} (region ${region}) does not support DualStack`);
  }
  let host: string;
  if (fips && input.useDualStack) host = `runtime.sagemaker-fips.${region}.${p.dualStackDnsSuffix}`;
  else if (fips && p.name === 'aws') host = `runtime-fips.sagemaker.${region}.amazonaws.com`;
  else if (fips && p.name === 'aws-us-gov') host = `${ENDPOINT_PREFIX}.${region}.amazonaws.com`;
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
