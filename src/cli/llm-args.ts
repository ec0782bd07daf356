// The options of LLM jobs (--llm, --llm-body, --prompt and its generation settings, --input-format,
// --output openai-batch|bedrock-batch): parsed and checked here, each with a usage error that names
// the option and what it allows.
import { UsageError } from '../errors.js';
import type { FieldValues } from '../core/fields.js';
import { INPUT_FORMATS, type InputFormat } from '../core/formats/batch-input.js';
import { OUTPUT_FORMATS } from '../core/formats/batch-output.js';
import type { LlmSettings } from '../core/llm/job.js';
import type { PromptSettings } from '../core/llm/prompt.js';
import { LLM_SCHEMAS, type LlmSchema } from '../core/llm/types.js';

type Values = Record<string, string | boolean | undefined>;

export const LLM_FLAG_SPEC = {
  llm: { type: 'string' },
  'llm-body': { type: 'string' },
  prompt: { type: 'boolean' },
  'max-new-tokens': { type: 'string' },
  temperature: { type: 'string' },
  system: { type: 'string' },
  'input-format': { type: 'string' },
} as const;

export interface LlmOptions {
  /** --llm: read each answer in this schema; undefined: answers are not read. */
  llm: LlmSettings | undefined;
  /** --prompt: each line (or the envelope's prompt) is a prompt, built into this request. */
  prompt: PromptSettings | undefined;
  /** --input-format: the lines are another service's batch file. */
  inputFormat: InputFormat | undefined;
}

const str = (v: Values, k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);

/** --output's default: the batch service's own output line when its input format is read, else result lines. */
export function defaultOutput(v: Values): string {
  const format = str(v, 'input-format');
  return format !== undefined && (INPUT_FORMATS as readonly string[]).includes(format) ? format : 'result';
}

export const OUTPUT_MODES: readonly string[] = ['result', 'body', ...OUTPUT_FORMATS];

export function llmOptions(v: Values, m: { output: string; envelope: boolean; body: string | undefined; batch: boolean; defaults: FieldValues }): LlmOptions {
  const llm = llmSettings(v, m);
  const prompt = promptSettings(v, llm?.schema, m);
  const inputFormat = inputFormatOption(v, m, prompt !== undefined);
  if ((prompt !== undefined || inputFormat !== undefined) && m.defaults.contentType === undefined) m.defaults.contentType = 'application/json';
  return { llm, prompt, inputFormat };
}

function llmSettings(v: Values, m: { output: string; body: string | undefined; batch: boolean }): LlmSettings | undefined {
  const schema = str(v, 'llm');
  const body = str(v, 'llm-body');
  if (body !== undefined && body !== 'keep' && body !== 'none') throw new UsageError(`--llm-body must be "keep" or "none", got ${JSON.stringify(body)}`);
  if (schema === undefined) {
    if (body !== undefined) throw new UsageError('--llm-body goes with --llm (it says whether the raw body stays beside the llm reading)');
    return undefined;
  }
  if (!(LLM_SCHEMAS as readonly string[]).includes(schema))
    throw new UsageError(`--llm must be one of ${LLM_SCHEMAS.join(', ')}, got ${JSON.stringify(schema)}`);
  if (m.body !== undefined) throw new UsageError('--llm reads the answers of a stream of records; it does not go with --body');
  if (m.batch) throw new UsageError('--llm reads one answer per request; it does not go with --batch-size');
  if (body === 'none' && m.output !== 'result') {
    throw new UsageError(`--llm-body none drops the raw body from result lines; --output ${m.output} writes the body itself`);
  }
  return { schema: schema as LlmSchema, keepBody: body !== 'none' };
}

function promptSettings(
  v: Values,
  schema: LlmSchema | undefined,
  m: { envelope: boolean; body: string | undefined; batch: boolean },
): PromptSettings | undefined {
  const given = (['max-new-tokens', 'temperature', 'system'] as const).find((k) => v[k] !== undefined);
  if (v.prompt !== true) {
    if (given !== undefined) throw new UsageError(`--${given} goes with --prompt (it is a setting of the request built from each prompt)`);
    return undefined;
  }
  if (schema === undefined || schema === 'auto') {
    throw new UsageError("--prompt builds the container's own request: give its schema with --llm tgi, --llm openai or --llm lmi");
  }
  if (m.body !== undefined) throw new UsageError('--prompt reads prompts from standard input; it does not go with --body');
  const s: PromptSettings = { schema };
  const maxText = str(v, 'max-new-tokens');
  if (maxText !== undefined) {
    if (!/^\d+$/.test(maxText) || Number(maxText) < 1 || Number(maxText) > 1_000_000) {
      throw new UsageError(`--max-new-tokens must be a whole number from 1 to 1000000, got ${JSON.stringify(maxText)}`);
    }
    s.maxNewTokens = Number(maxText);
  }
  const tText = str(v, 'temperature');
  if (tText !== undefined) {
    if (!/^\d+(\.\d+)?$/.test(tText) || Number(tText) > 100) throw new UsageError(`--temperature must be a number from 0 to 100, got ${JSON.stringify(tText)}`);
    s.temperature = Number(tText);
  }
  const system = str(v, 'system');
  if (system !== undefined) {
    if (schema !== 'openai') {
      throw new UsageError(
        `--system needs --llm openai: a ${schema === 'tgi' ? 'TGI' : 'LMI'} request's inputs is the raw prompt text, with no system role (put the system text in your prompt template)`,
      );
    }
    s.system = system;
  }
  return s;
}

function inputFormatOption(
  v: Values,
  m: { output: string; envelope: boolean; body: string | undefined; batch: boolean },
  prompt: boolean,
): InputFormat | undefined {
  const format = str(v, 'input-format');
  if (format === undefined) {
    if (m.output === 'openai-batch' || m.output === 'bedrock-batch') {
      throw new UsageError(`--output ${m.output} writes the answers to a ${m.output} input file: give --input-format ${m.output}`);
    }
    return undefined;
  }
  if (!(INPUT_FORMATS as readonly string[]).includes(format))
    throw new UsageError(`--input-format must be one of ${INPUT_FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
  if (m.envelope) throw new UsageError(`--input-format ${format} reads ${format} lines; it does not go with --envelope`);
  if (prompt) throw new UsageError(`--input-format ${format} lines carry their requests; it does not go with --prompt`);
  if (m.body !== undefined) throw new UsageError(`--input-format reads a batch file from standard input; it does not go with --body`);
  if (v.shard !== undefined && m.output !== 'result' && m.output !== 'body') {
    throw new UsageError(`--shard: shards are merged by the line numbers of result lines; run them with --output result (not ${m.output})`);
  }
  if (m.batch) throw new UsageError(`--input-format ${format}: each line is one request of its own; it does not go with --batch-size`);
  if ((m.output === 'openai-batch' || m.output === 'bedrock-batch') && m.output !== format) {
    throw new UsageError(`--output ${m.output} needs --input-format ${m.output} (its lines carry the ids the output names), got --input-format ${format}`);
  }
  return format as InputFormat;
}
