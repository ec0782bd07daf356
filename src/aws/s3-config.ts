// Where S3 requests go for --async, as the AWS CLI and SDKs configure it: the endpoint URL
// (--s3-endpoint-url, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's `services` section's
// `s3 = endpoint_url`, the profile's `endpoint_url`; none with ignore_configured_endpoint_urls) and
// path-style addressing (--s3-path-style, or the profile's `s3 = addressing_style = path`, which the
// AWS CLI reads). Pure: the config files come in already parsed (docs/async.md).
import { UsageError } from '../errors.js';
import { parseBool } from './endpoint.js';

type Env = Readonly<Record<string, string | undefined>>;
type Section = Record<string, string | undefined>;

export interface S3Settings {
  /** undefined: the SDK's own regional endpoint. */
  endpointUrl: string | undefined;
  endpointSource: string;
  forcePathStyle: boolean;
  pathStyleSource: string;
}

export interface S3SettingsInput {
  endpointUrl: string | undefined;
  pathStyle: boolean;
  profileName: string;
  /** The profile's section of the config file, and the whole config file (for `services`). */
  profile: Section;
  configFile: Record<string, Section | undefined>;
}

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

export function resolveS3Settings(input: S3SettingsInput, env: Env): S3Settings {
  const { profile, profileName } = input;
  let endpointUrl = input.endpointUrl;
  let endpointSource = endpointUrl !== undefined ? '--s3-endpoint-url' : "the SDK's regional endpoint";
  const ignore =
    parseBool('AWS_IGNORE_CONFIGURED_ENDPOINT_URLS', env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS) ??
    parseBool('ignore_configured_endpoint_urls', profile.ignore_configured_endpoint_urls) ??
    false;
  if (endpointUrl === undefined && !ignore) {
    const services = nonEmpty(profile.services);
    const candidates: [string | undefined, string][] = [
      [nonEmpty(env.AWS_ENDPOINT_URL_S3), 'AWS_ENDPOINT_URL_S3'],
      [nonEmpty(env.AWS_ENDPOINT_URL), 'AWS_ENDPOINT_URL'],
      [services === undefined ? undefined : nonEmpty(input.configFile[`services.${services}`]?.['s3.endpoint_url']), `services ${services} (s3.endpoint_url)`],
      [nonEmpty(profile.endpoint_url), `profile ${JSON.stringify(profileName)} (endpoint_url)`],
    ];
    for (const [value, source] of candidates) {
      if (value === undefined) continue;
      endpointUrl = value;
      endpointSource = source;
      break;
    }
  }
  if (endpointUrl !== undefined && !/^https?:\/\/[^/]/.test(endpointUrl)) {
    throw new UsageError(`S3 endpoint URL ${JSON.stringify(endpointUrl)} (${endpointSource}) is not an http(s) URL`);
  }
  const style = nonEmpty(profile['s3.addressing_style']);
  if (style !== undefined && !['auto', 'path', 'virtual'].includes(style)) {
    throw new UsageError(`profile ${JSON.stringify(profileName)}: s3 addressing_style must be auto, path or virtual, got ${JSON.stringify(style)}`);
  }
  const forcePathStyle = input.pathStyle || style === 'path';
  const pathStyleSource = input.pathStyle
    ? '--s3-path-style'
    : style === 'path'
      ? `profile ${JSON.stringify(profileName)} (s3 addressing_style = path)`
      : 'virtual-hosted';
  return { endpointUrl, endpointSource, forcePathStyle, pathStyleSource };
}

/** An `s3://bucket/key` URI split; undefined when it is not one. */
export function parseS3Uri(uri: string): { bucket: string; key: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (m === null || m[1] === '') return undefined;
  return { bucket: m[1]!, key: m[2]! };
}
