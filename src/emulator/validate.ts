// Input validation of InvokeEndpoint, mirroring the service model's
// constraints (docs/wire.md §1.4) and Coral's message phrasing:
//   1 validation error detected: Value 'x' at 'inferenceId' failed to satisfy
//   constraint: Member must have length less than or equal to 64
// Several violations are joined with "; " under "N validation errors detected".
// Sensitive members (customAttributes, body) are reported without their value.

export interface Rule {
  member: string;
  /** Lower-case wire header, or '' for non-header members. */
  header: string;
  min?: number;
  max: number;
  /** Pattern as printed in the message (Java syntax, from the model)... */
  patternText?: string;
  /** ...and its JavaScript translation (full match). */
  pattern?: RegExp;
  sensitive?: boolean;
}

const NAME_PATTERN_TEXT = '^[a-zA-Z0-9](-*[a-zA-Z0-9])*';
const NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/;
const ASCII_TEXT = '\\p{ASCII}*';
const ASCII = /^[\x00-\x7F]*$/;
const PRINT_TEXT = '\\A\\S[\\p{Print}]*\\z';
const PRINT = /^\S[\x20-\x7E]*$/;

export const ENDPOINT_NAME_RULE: Rule = {
  member: 'endpointName',
  header: '',
  max: 63,
  patternText: NAME_PATTERN_TEXT,
  pattern: NAME,
};

/** Header members in service-model order. */
const HEADER_RULES: readonly Rule[] = [
  { member: 'contentType', header: 'content-type', max: 1024, patternText: ASCII_TEXT, pattern: ASCII },
  { member: 'accept', header: 'accept', max: 1024, patternText: ASCII_TEXT, pattern: ASCII },
  {
    member: 'customAttributes',
    header: 'x-amzn-sagemaker-custom-attributes',
    max: 1024,
    patternText: ASCII_TEXT,
    pattern: ASCII,
    sensitive: true,
  },
  { member: 'targetModel', header: 'x-amzn-sagemaker-target-model', min: 1, max: 1024, patternText: PRINT_TEXT, pattern: PRINT },
  { member: 'targetVariant', header: 'x-amzn-sagemaker-target-variant', max: 63, patternText: NAME_PATTERN_TEXT, pattern: NAME },
  {
    member: 'targetContainerHostname',
    header: 'x-amzn-sagemaker-target-container-hostname',
    max: 63,
    patternText: NAME_PATTERN_TEXT,
    pattern: NAME,
  },
  { member: 'inferenceId', header: 'x-amzn-sagemaker-inference-id', min: 1, max: 64, patternText: PRINT_TEXT, pattern: PRINT },
  { member: 'enableExplanations', header: 'x-amzn-sagemaker-enable-explanations', min: 1, max: 64, patternText: '.*', pattern: /^.*$/ },
  {
    member: 'inferenceComponentName',
    header: 'x-amzn-sagemaker-inference-component',
    max: 63,
    patternText: '^[a-zA-Z0-9]([\\-a-zA-Z0-9]*[a-zA-Z0-9])?$',
    pattern: /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/,
  },
  {
    member: 'sessionId',
    header: 'x-amzn-sagemaker-session-id',
    max: 256,
    patternText: '^(NEW_SESSION)$|^[a-zA-Z0-9](-*[a-zA-Z0-9])*$',
    pattern: /^(NEW_SESSION)$|^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/,
  },
  { member: 'prefixAwareId', header: 'x-amzn-sagemaker-prefix-aware-id', min: 1, max: 64, patternText: ASCII_TEXT, pattern: ASCII },
];

/**
 * InvokeEndpointWithResponseStream's members: Accept in X-Amzn-SageMaker-Accept; no TargetModel and
 * no EnableExplanations (headers outside the API are stripped, as the service strips them); a
 * SessionId that names a session (NEW_SESSION is InvokeEndpoint's).
 */
const STREAM_RULES: readonly Rule[] = HEADER_RULES.filter((r) => r.member !== 'targetModel' && r.member !== 'enableExplanations').map((r) => {
  if (r.member === 'accept') return { ...r, header: 'x-amzn-sagemaker-accept' };
  if (r.member === 'sessionId') return { ...r, patternText: NAME_PATTERN_TEXT, pattern: NAME };
  return r;
});

export function violations(rule: Rule, value: string, out: string[]): void {
  const at = rule.sensitive ? `Value at '${rule.member}'` : `Value '${value}' at '${rule.member}'`;
  const constraint = (c: string): void => {
    out.push(`${at} failed to satisfy constraint: Member must ${c}`);
  };
  if (rule.pattern && !rule.pattern.test(value)) constraint(`satisfy regular expression pattern: ${rule.patternText}`);
  if (rule.min !== undefined && value.length < rule.min) constraint(`have length greater than or equal to ${rule.min}`);
  if (value.length > rule.max) constraint(`have length less than or equal to ${rule.max}`);
}

export function formatViolations(list: readonly string[]): string {
  const n = list.length;
  return `${n} validation error${n === 1 ? '' : 's'} detected: ${list.join('; ')}`;
}

/** Returns the ValidationError message, or undefined when the input is valid. */
export function validateInvocation(
  endpointName: string,
  headers: Readonly<Record<string, string>>,
  bodyBytes: number,
  maxBodyBytes: number,
  stream = false,
): string | undefined {
  const out: string[] = [];
  violations(ENDPOINT_NAME_RULE, endpointName, out);
  for (const rule of stream ? STREAM_RULES : HEADER_RULES) {
    const v = headers[rule.header];
    if (v !== undefined) violations(rule, v, out);
  }
  if (bodyBytes > maxBodyBytes) {
    out.push(`Value at 'body' failed to satisfy constraint: Member must have length less than or equal to ${maxBodyBytes}`);
  }
  return out.length === 0 ? undefined : formatViolations(out);
}
