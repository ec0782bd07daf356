// Emulated containers. Each takes the request as the container would see it
// and returns the container's answer.
import { isUtf8 } from 'node:buffer';
import { isBatchModel, runBatchModel } from './batch-models.js';
import type { ModelName } from './config.js';
import { isLlmModel, runLlmModel } from './llm-models.js';
import type { Random } from './prng.js';
import type { StreamSpec } from './stream-models.js';

export interface ModelInput {
  variant: string;
  body: Buffer;
  headers: Readonly<Record<string, string>>;
  /** Batch models: leave out the answer's last item (the endpoint's batchMismatch). */
  dropLast?: boolean;
  /** LLM models: the endpoint's token model and the PRNG for the generated tokens. */
  tokens?: { spec: Partial<StreamSpec> | undefined; random: Random };
}

export interface ModelOutput {
  contentType: string;
  body: Buffer;
  /** Response custom attributes, as a container may set them. */
  customAttributes?: string;
  /** LLM models: the prompt's tokens and those generated (the request log's truth). */
  llm?: { promptTokens: number; completionTokens: number };
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
  if (isLlmModel(name)) {
    const a = runLlmModel(name, input.body, input.headers, input.tokens?.spec, input.tokens?.random ?? Math.random);
    return { contentType: a.contentType, body: a.body, llm: { promptTokens: a.promptTokens, completionTokens: a.completionTokens } };
  }
  return name === 'mirror' ? mirror(input) : echo(input);
}
