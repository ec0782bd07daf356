// Input validation of InvokeEndpointAsync, in the phrasing of validate.ts: the async request's own
// headers (X-Amzn-SageMaker-Content-Type / -Accept, InputLocation, S3OutputPathExtension, Filename,
// RequestTTLSeconds 60-21600, InvocationTimeoutSeconds 1-3600), an inline body of at most 128,000
// bytes, and exactly one of body and InputLocation.
import { ENDPOINT_NAME_RULE, formatViolations, type Rule, violations } from './validate.js';

const ASCII_TEXT = '\\p{ASCII}*';
const ASCII = /^[\x00-\x7F]*$/;
const PRINT_TEXT = '\\A\\S[\\p{Print}]*\\z';
const PRINT = /^\S[\x20-\x7E]*$/;
export const MAX_INLINE_BYTES = 128_000;

const RULES: readonly Rule[] = [
  { member: 'contentType', header: 'x-amzn-sagemaker-content-type', max: 1024, patternText: ASCII_TEXT, pattern: ASCII },
  { member: 'accept', header: 'x-amzn-sagemaker-accept', max: 1024, patternText: ASCII_TEXT, pattern: ASCII },
  { member: 'customAttributes', header: 'x-amzn-sagemaker-custom-attributes', max: 1024, patternText: ASCII_TEXT, pattern: ASCII, sensitive: true },
  { member: 'inferenceId', header: 'x-amzn-sagemaker-inference-id', min: 1, max: 64, patternText: PRINT_TEXT, pattern: PRINT },
  {
    member: 'inputLocation',
    header: 'x-amzn-sagemaker-inputlocation',
    min: 1,
    max: 1024,
    patternText: '^(https|s3)://([^/]+)/?(.*)$',
    pattern: /^(https|s3):\/\/([^/]+)\/?(.*)$/,
  },
  { member: 's3OutputPathExtension', header: 'x-amzn-sagemaker-s3outputpathextension', min: 1, max: 512 },
  { member: 'filename', header: 'x-amzn-sagemaker-filename', min: 1, max: 32 },
];

const RANGES: readonly [member: string, header: string, min: number, max: number][] = [
  ['requestTTLSeconds', 'x-amzn-sagemaker-requestttlseconds', 60, 21_600],
  ['invocationTimeoutSeconds', 'x-amzn-sagemaker-invocationtimeoutseconds', 1, 3_600],
];

/** The ValidationError message, or undefined when the request is valid. */
export function validateAsyncInvocation(endpointName: string, headers: Readonly<Record<string, string>>, bodyBytes: number): string | undefined {
  const out: string[] = [];
  violations(ENDPOINT_NAME_RULE, endpointName, out);
  for (const rule of RULES) {
    const v = headers[rule.header];
    if (v !== undefined) violations(rule, v, out);
  }
  for (const [member, header, min, max] of RANGES) {
    const v = headers[header];
    if (v === undefined) continue;
    const n = Number(v);
    if (!/^-?\d+$/.test(v)) out.push(`Value '${v}' at '${member}' failed to satisfy constraint: Member must be an integer`);
    else if (n < min) out.push(`Value '${v}' at '${member}' failed to satisfy constraint: Member must have value greater than or equal to ${min}`);
    else if (n > max) out.push(`Value '${v}' at '${member}' failed to satisfy constraint: Member must have value less than or equal to ${max}`);
  }
  if (bodyBytes > MAX_INLINE_BYTES) out.push(`Value at 'body' failed to satisfy constraint: Member must have length less than or equal to ${MAX_INLINE_BYTES}`);
  if (out.length > 0) return formatViolations(out);
  const hasLocation = headers['x-amzn-sagemaker-inputlocation'] !== undefined;
  if (hasLocation && bodyBytes > 0) return 'Body and InputLocation are mutually exclusive: provide exactly one of them.';
  if (!hasLocation && bodyBytes === 0) return 'Either Body or InputLocation must be provided.';
  return undefined;
}
