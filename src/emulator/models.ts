// Emulated containers. Each takes the request as the container would see it
// and returns the container's answer.
import { isUtf8 } from 'node:buffer';
import { isBatchModel, runBatchModel } from './batch-models.js';
import type { ModelName } from './config.js';

export interface ModelInput {
  variant: string;
  body: Buffer;
  headers: Readonly<Record<string, string>>;
  /** Batch models: leave out the answer's last item (the endpoint's batchMismatch). */
  dropLast?: boolean;
}

export interface ModelOutput {
  contentType: string;
  body: Buffer;
  /** Response custom attributes, as a container may set them. */
  customAttributes?: string;
}

const CUSTOM_ATTRIBUTES = 'x-amzn-sagemaker-custom-attributes';

/** Request headers the echo model reports: content-type, accept, x-amzn-sagemaker-*. */
function seenHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name === 'content-type' || name === 'accept' || name.startsWith('x-amzn-sagemaker-')) out[name] = value;
  }
  return out;
}

/**
 * `echo`: JSON describing what arrived. The body is echoed as text when it is
 * valid UTF-8, else as `bodyBase64`. Custom attributes are copied back.
 */
function echo(input: ModelInput): ModelOutput {
  const doc: Record<string, unknown> = { variant: input.variant };
  if (isUtf8(input.body)) doc.body = input.body.toString('utf8');
  else doc.bodyBase64 = input.body.toString('base64');
  doc.headers = seenHeaders(input.headers);
  const out: ModelOutput = { contentType: 'application/json', body: Buffer.from(JSON.stringify(doc)) };
  const attrs = input.headers[CUSTOM_ATTRIBUTES];
  if (attrs !== undefined) out.customAttributes = attrs;
  return out;
}

/** `mirror`: the request bytes verbatim, typed as the caller asked. */
function mirror(input: ModelInput): ModelOutput {
  const contentType = input.headers.accept || input.headers['content-type'] || 'application/octet-stream';
  return { contentType, body: input.body };
}

export function runModel(name: ModelName, input: ModelInput): ModelOutput {
  if (isBatchModel(name)) return runBatchModel(name, input.body, input.dropLast === true);
  return name === 'mirror' ? mirror(input) : echo(input);
}
