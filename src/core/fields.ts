// The InvokeEndpoint request members a user can set, once: their CLI flag, their envelope key,
// their wire header and the API's constraints. args.ts, ndjson.ts and request.ts all read this table,
// so a flag, an envelope key and a header can never drift apart.
import * as C from '../constants.js';

export interface FieldRule {
  /** Envelope key and options property, e.g. `targetVariant`. */
  readonly key: FieldKey;
  /** CLI flag without dashes, as the AWS CLI spells it, e.g. `target-variant`. */
  readonly flag: string;
  /** Wire header (lower-case); undefined for the endpoint name, which goes in the path. */
  readonly header: string | undefined;
  readonly min: number;
  readonly max: number;
  readonly pattern: RegExp;
  /** Human text of the pattern for error messages. */
  readonly allowed: string;
  /** A whole number in this range (InvokeEndpointAsync's seconds): a JSON number or its digits. */
  readonly integer?: readonly [number, number];
}

export type FieldKey =
  | 'endpointName'
  | 'contentType'
  | 'accept'
  | 'customAttributes'
  | 'targetModel'
  | 'targetVariant'
  | 'targetContainerHostname'
  | 'inferenceId'
  | 'enableExplanations'
  | 'inferenceComponentName'
  | 'sessionId'
  | 'prefixAwareId'
  // InvokeEndpointAsync only (core/async/fields.ts).
  | 'inputLocation'
  | 'requestTTLSeconds'
  | 'invocationTimeoutSeconds'
  | 's3OutputPathExtension'
  | 'filename';

/** Values for one record: each member is a valid string or absent. */
export type FieldValues = Partial<Record<FieldKey, string>>;

// Java-style patterns of the model, translated (docs/wire.md §1.4): \p{Print} is [\x20-\x7E].
// Header values additionally may not carry control characters: Node refuses CR/LF/NUL outright
// and the service would strip or reject the others, so a record with one fails here, named.
const NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/;
const NAME_TEXT = 'letters, digits and hyphens, starting and ending with a letter or digit';
const HEADER_TEXT = /^[\t\x20-\x7e]*$/;
const HEADER_TEXT_ALLOWED = 'printable US-ASCII (no control characters, no non-ASCII)';
const PRINT_NO_LEADING_SPACE = /^[\x21-\x7e][\x20-\x7e]*$/;
const PRINT_NO_LEADING_SPACE_TEXT = 'printable US-ASCII, not starting with a space';

export const FIELDS: readonly FieldRule[] = [
  { key: 'endpointName', flag: 'endpoint-name', header: undefined, min: 1, max: 63, pattern: NAME, allowed: NAME_TEXT },
  { key: 'contentType', flag: 'content-type', header: C.H_CONTENT_TYPE, min: 0, max: 1024, pattern: HEADER_TEXT, allowed: HEADER_TEXT_ALLOWED },
  { key: 'accept', flag: 'accept', header: C.H_ACCEPT, min: 0, max: 1024, pattern: HEADER_TEXT, allowed: HEADER_TEXT_ALLOWED },
  {
    key: 'customAttributes',
    flag: 'custom-attributes',
    header: C.H_CUSTOM_ATTRIBUTES,
    min: 0,
    max: 1024,
    pattern: HEADER_TEXT,
    allowed: 'visible US-ASCII, spaces and tabs (RFC 7230 field-value)',
  },
  {
    key: 'targetModel',
    flag: 'target-model',
    header: C.H_TARGET_MODEL,
    min: 1,
    max: 1024,
    pattern: PRINT_NO_LEADING_SPACE,
    allowed: PRINT_NO_LEADING_SPACE_TEXT,
  },
  { key: 'targetVariant', flag: 'target-variant', header: C.H_TARGET_VARIANT, min: 0, max: 63, pattern: NAME, allowed: NAME_TEXT },
  {
    key: 'targetContainerHostname',
    flag: 'target-container-hostname',
    header: C.H_TARGET_CONTAINER_HOSTNAME,
    min: 0,
    max: 63,
    pattern: NAME,
    allowed: NAME_TEXT,
  },
  {
    key: 'inferenceId',
    flag: 'inference-id',
    header: C.H_INFERENCE_ID,
    min: 1,
    max: 64,
    pattern: PRINT_NO_LEADING_SPACE,
    allowed: PRINT_NO_LEADING_SPACE_TEXT,
  },
  {
    key: 'enableExplanations',
    flag: 'enable-explanations',
    header: C.H_ENABLE_EXPLANATIONS,
    min: 1,
    max: 64,
    pattern: HEADER_TEXT,
    allowed: HEADER_TEXT_ALLOWED,
  },
  {
    key: 'inferenceComponentName',
    flag: 'inference-component-name',
    header: C.H_INFERENCE_COMPONENT,
    min: 0,
    max: 63,
    pattern: /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/,
    allowed: NAME_TEXT,
  },
  {
    key: 'sessionId',
    flag: 'session-id',
    header: C.H_SESSION_ID,
    min: 0,
    max: 256,
    pattern: /^(NEW_SESSION|[a-zA-Z0-9](-*[a-zA-Z0-9])*)$/,
    allowed: `NEW_SESSION, or ${NAME_TEXT}`,
  },
  {
    // Routing hint for endpoints with RoutingStrategy PREFIX_AWARE (both operations).
    key: 'prefixAwareId',
    flag: 'prefix-aware-id',
    header: C.H_PREFIX_AWARE_ID,
    min: 1,
    max: 64,
    pattern: HEADER_TEXT,
    allowed: HEADER_TEXT_ALLOWED,
  },
];

export const FIELD_BY_KEY: ReadonlyMap<string, FieldRule> = new Map(FIELDS.map((f) => [f.key, f]));

/**
 * Checks one value against its rule. Returns an error message naming the rule, or undefined.
 * The empty string never reaches here: like the AWS SDKs, callers treat "" as "not set".
 */
export function checkField(rule: FieldRule, value: string): string | undefined {
  if (value.length < rule.min) return `must be at least ${rule.min} characters`;
  if (value.length > rule.max) return `must be at most ${rule.max} characters, got ${value.length}`;
  if (!rule.pattern.test(value)) return `must be ${rule.allowed}, got ${preview(value)}`;
  if (rule.integer !== undefined && !(Number(value) >= rule.integer[0] && Number(value) <= rule.integer[1])) {
    return `must be a whole number from ${rule.integer[0]} to ${rule.integer[1]}, got ${value}`;
  }
  return undefined;
}

/** A short JSON-quoted preview of a bad value, safe to print on one line. */
export function preview(value: string, max = 80): string {
  const cut = value.length > max ? value.slice(0, max) + '…' : value;
  return JSON.stringify(cut);
}
