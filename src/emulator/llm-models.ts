// Pure: the LLM containers' unstreamed answers to InvokeEndpoint (models `tgi`, `openai`, `lmi`),
// from the request as the container reads it (TGI/LMI `{"inputs", "parameters"}`, OpenAI
// `{"messages"}`, `{"prompt"}` or `{"input"}`), with the token counts in each schema's own fields,
// and the generation's time on the endpoint's token model (`stream`: firstTokenMs, interTokenMs,
// promptTokenMs per prompt token, tokens) so that tests can hold a client's figures against them.
// A request with `"stream": true` sent to InvokeEndpoint is answered as the containers answer it:
// the whole event stream in one body.
// - tgi: `[{"generated_text", "details": {"finish_reason", "generated_tokens", "seed", "prefill",
//   "tokens"}}]` (details only when parameters.details is true, as TGI does).
// - lmi: `{"generated_text", "details": {"finish_reason", "generated_tokens", "inputs", "tokens"}}`
//   (details likewise).
// - openai: chat.completion (messages), text_completion (prompt) or an embeddings list (input), with
//   `usage` {prompt_tokens, completion_tokens, total_tokens}.
import type { Random } from './prng.js';
import { countWords, DEFAULT_TOKENS, planStream, readRequest, WORDS, type StreamSpec } from './stream-models.js';

export type LlmModelName = 'tgi' | 'openai' | 'lmi';
export const LLM_MODEL_NAMES: readonly LlmModelName[] = ['tgi', 'openai', 'lmi'];

export function isLlmModel(name: string): name is LlmModelName {
  return (LLM_MODEL_NAMES as readonly string[]).includes(name);
}

export interface LlmAnswer {
  contentType: string;
  body: Buffer;
  promptTokens: number;
  completionTokens: number;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function parse(body: Buffer): Obj | undefined {
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    return isObj(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The tokens a request asks for and its prompt's tokens (whitespace words, as the stream models count). */
export function llmRequestTokens(spec: Partial<StreamSpec> | undefined, body: Buffer): { prompt: number; completion: number } {
  const req = readRequest(body);
  const doc = parse(body);
  const embed = doc !== undefined && doc.input !== undefined && doc.messages === undefined && doc.prompt === undefined && doc.inputs === undefined;
  const prompt = embed ? countWords(inputText(doc.input)) : countWords(req.prompt);
  return { prompt, completion: embed ? 0 : (req.maxTokens ?? spec?.tokens ?? DEFAULT_TOKENS) };
}

/** The model's time for an unstreamed answer: the first token (with the prompt's cost), then one interval per further token. */
export function llmLatencyMs(spec: Partial<StreamSpec> | undefined, body: Buffer): number {
  const { prompt, completion } = llmRequestTokens(spec, body);
  const first = (spec?.firstTokenMs ?? 0) + (spec?.promptTokenMs ?? 0) * prompt;
  return completion === 0 ? first : first + (spec?.interTokenMs ?? 0) * (completion - 1);
}

function inputText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.filter((x) => typeof x === 'string').join(' ');
  return '';
}

// long function: three containers' answer documents, each a few lines, side by side
export function runLlmModel(
  model: LlmModelName,
  body: Buffer,
  headers: Readonly<Record<string, string>>,
  spec: Partial<StreamSpec> | undefined,
  random: Random,
): LlmAnswer {
  const doc = parse(body) ?? {};
  const { prompt: promptTokens, completion: n } = llmRequestTokens(spec, body);
  if (doc.stream === true) {
    // The container streams whatever the operation: InvokeEndpoint gets the whole event stream.
    const plan = planStream({ ...spec, model, split: 'event' }, { body, headers, random });
    return {
      contentType: plan.contentType,
      body: Buffer.concat(plan.chunks.map((c) => c.bytes)),
      promptTokens: plan.promptTokens,
      completionTokens: plan.completionTokens,
    };
  }
  const tokens: { id: number; text: string; logprob: number; special: boolean }[] = [];
  for (let i = 0; i < n; i++) {
    const w = Math.floor(random() * WORDS.length);
    tokens.push({ id: 1000 + w, text: WORDS[w]!, logprob: -Math.round(random() * 5000) / 1000, special: false });
  }
  const text = tokens.map((t) => t.text).join('');
  const params = isObj(doc.parameters) ? doc.parameters : {};
  const json = (v: unknown): LlmAnswer => ({ contentType: 'application/json', body: Buffer.from(JSON.stringify(v)), promptTokens, completionTokens: n });
  if (model === 'tgi') {
    const out: Obj = { generated_text: text };
    if (params.details === true) out.details = { finish_reason: 'length', generated_tokens: n, seed: null, prefill: [], tokens };
    return json([out]);
  }
  if (model === 'lmi') {
    const out: Obj = { generated_text: text };
    if (params.details === true) {
      out.details = {
        finish_reason: 'length',
        generated_tokens: n,
        inputs: typeof doc.inputs === 'string' ? doc.inputs : '',
        tokens: tokens.map(({ id, text: t, logprob }) => ({ id, text: t, log_prob: logprob })),
      };
    }
    return json(out);
  }
  const base = { id: 'chatcmpl-emulator', created: 1_700_000_000, model: 'emulator' };
  if (doc.messages === undefined && doc.prompt === undefined && doc.input !== undefined) {
    const n = Array.isArray(doc.input) ? doc.input.length : 1;
    const data = Array.from({ length: n }, (_, index) => ({
      object: 'embedding',
      index,
      embedding: Array.from({ length: 8 }, () => Math.round((random() * 2 - 1) * 1e6) / 1e6),
    }));
    return { ...json({ object: 'list', data, model: 'emulator', usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } }), completionTokens: 0 };
  }
  const usage = { prompt_tokens: promptTokens, completion_tokens: n, total_tokens: promptTokens + n };
  if (doc.messages === undefined && typeof doc.prompt === 'string') {
    return json({ ...base, id: 'cmpl-emulator', object: 'text_completion', choices: [{ index: 0, text, logprobs: null, finish_reason: 'length' }], usage });
  }
  return json({
    ...base,
    object: 'chat.completion',
    choices: [{ index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason: 'length' }],
    usage,
  });
}
