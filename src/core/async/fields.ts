// InvokeEndpointAsync's members beside InvokeEndpoint's (fields.ts): their envelope keys, flags, wire
// headers and the API's constraints (docs/async.md §1). The request's content type and accept go in
// X-Amzn-SageMaker-Content-Type / -Accept, not in Content-Type / Accept as for InvokeEndpoint.
import type { FieldKey, FieldRule } from '../fields.js';

export const PATH = (name: string): string => `/endpoints/${name}/async-invocations`;

/** Inline Body: at most 128,000 bytes (larger inputs go through S3, InputLocation). */
export const MAX_INLINE_BYTES = 128_000;
/** The service's defaults when a request does not say. */
export const DEFAULT_TTL_SECONDS = 21_600;
export const DEFAULT_INVOCATION_TIMEOUT_SECONDS = 900;

export const H_ASYNC_CONTENT_TYPE = 'x-amzn-sagemaker-content-type';
export const H_ASYNC_ACCEPT = 'x-amzn-sagemaker-accept';
export const H_INPUT_LOCATION = 'x-amzn-sagemaker-inputlocation';
export const H_OUTPUT_PATH_EXTENSION = 'x-amzn-sagemaker-s3outputpathextension';
export const H_FILENAME = 'x-amzn-sagemaker-filename';
export const H_REQUEST_TTL = 'x-amzn-sagemaker-requestttlseconds';
export const H_INVOCATION_TIMEOUT = 'x-amzn-sagemaker-invocationtimeoutseconds';
/** The 202's headers. */
export const H_OUTPUT_LOCATION = 'x-amzn-sagemaker-outputlocation';
export const H_FAILURE_LOCATION = 'x-amzn-sagemaker-failurelocation';

const DIGITS = /^\d{1,9}$/;
const HEADER_TEXT = /^[\x20-\x7e]*$/;

export const ASYNC_FIELDS: readonly FieldRule[] = [
  {
    key: 'inputLocation',
    flag: 'input-location',
    header: H_INPUT_LOCATION,
    min: 1,
    max: 1024,
    pattern: /^(https|s3):\/\/([^/]+)\/?(.*)$/,
    allowed: 'an s3:// (or https://) URI of an existing object',
  },
  {
    key: 'requestTTLSeconds',
    flag: 'request-ttl-seconds',
    header: H_REQUEST_TTL,
    min: 1,
    max: 9,
    pattern: DIGITS,
    allowed: 'a whole number of seconds',
    integer: [60, 21_600],
  },
  {
    key: 'invocationTimeoutSeconds',
    flag: 'invocation-timeout-seconds',
    header: H_INVOCATION_TIMEOUT,
    min: 1,
    max: 9,
    pattern: DIGITS,
    allowed: 'a whole number of seconds',
    integer: [1, 3_600],
  },
  {
    key: 's3OutputPathExtension',
    flag: 's3-output-path-extension',
    header: H_OUTPUT_PATH_EXTENSION,
    min: 1,
    max: 512,
    pattern: HEADER_TEXT,
    allowed: 'printable US-ASCII',
  },
  { key: 'filename', flag: 'filename', header: H_FILENAME, min: 1, max: 32, pattern: HEADER_TEXT, allowed: 'printable US-ASCII' },
];

export const ASYNC_FIELD_BY_KEY: ReadonlyMap<string, FieldRule> = new Map(ASYNC_FIELDS.map((f) => [f.key, f]));

/** InvokeEndpoint members that InvokeEndpointAsync does not have: a record or flag with one fails. */
export const NOT_ASYNC: readonly FieldKey[] = [
  'targetModel',
  'targetVariant',
  'targetContainerHostname',
  'enableExplanations',
  'inferenceComponentName',
  'sessionId',
];
