// Pure: the emulator's streaming models. Each turns a request into the payload chunks a container
// would write, with the delay before each, and the token counts it generated (the truth a test or
// issue 21's answer parsers hold a client against). No I/O, no clock: stream.ts sends the chunks,
// one PayloadPart each, at their times.
//
// - `echo`: the request body back (typed as `mirror` types it), cut at arbitrary byte boundaries (inside UTF-8 characters and
//   JSON tokens on purpose): part sizes drawn from `partBytes`.
// - `tgi`: Hugging Face TGI's /generate_stream Server-Sent Events, `data:{"index":i,"token":{...},
//   "generated_text":null,"details":null}` then a blank line, the last event with generated_text and
//   details (finish_reason, generated_tokens, seed).
// - `openai`: OpenAI-compatible chat.completion.chunk events (vLLM, LMI, TGI's Messages API):
//   `data: {...}` with a role delta first, a content delta per token, a finish_reason chunk, a usage
//   chunk (prompt_tokens, completion_tokens, total_tokens), then `data: [DONE]`.
// - `lmi`: LMI (DJL Serving) rolling-batch JSON lines, `{"token":{"id":..,"text":..,"log_prob":..}}`,
//   the last line with generated_text and details (finish_reason, generated_tokens, inputs).
// Token models: a first-token delay, then an inter-token delay, each +- jitter (uniform); `split`
// "random" also cuts each event's bytes into 1-3 parts at random boundaries (sent back to back).
import type { Random } from './prng.js';

export type StreamModelName = 'echo' | 'tgi' | 'openai' | 'lmi';
export const STREAM_MODEL_NAMES: readonly StreamModelName[] = ['echo', 'tgi', 'openai', 'lmi'];

export interface StreamSpec {
  model: StreamModelName;
  /** Tokens to generate when the request does not say (max_new_tokens / max_tokens); default 20. */
  tokens?: number;
  /** Before the first part (after the model's latency), ms. */
  firstTokenMs?: number;
  /** Between two tokens, ms. */
  interTokenMs?: number;
  /** Each delay +- up to this many ms (uniform, never below 0). */
  jitterMs?: number;
  /** echo: part sizes in bytes, uniform in [min, max] (default 1-64, larger for bodies over 256 KiB). */
  partBytes?: { min: number; max: number };
  /** token models: "event" (one part per event, default) or "random" (events cut in 1-3 parts). */
  split?: 'event' | 'random';
  /** Token models: the prompt's cost, ms per prompt token (whitespace word), added to the first token's delay. */
  promptTokenMs?: number;
  /** Token models: the container fails after this many tokens, inside the 200 stream (LMI's error token, TGI's error event, an OpenAI error chunk). */
  errorAfterTokens?: number;
}

export interface StreamChunk {
  bytes: Buffer;
  /** Wait this long after the previous chunk (the first: after the stream began). */
  delayMs: number;
}

export interface StreamPlan {
  /** What X-Amzn-SageMaker-Content-Type says. */
  contentType: string;
  chunks: StreamChunk[];
  /** Token models: the tokens generated and the prompt's (whitespace words); echo: 0 and 0. */
  completionTokens: number;
  promptTokens: number;
  /** Token models: the generated text (the tokens' text joined). */
  text: string;
}

export interface StreamInput {
  body: Buffer;
  /** Request headers, lower-case. */
  headers: Readonly<Record<string, string>>;
  random: Random;
}

export const WORDS = [
  'the',
  ' model',
  ' streams',
  ' tokens',
  ' one',
  ' by',
  ' one',
  ',',
  ' and',
  ' each',
  ' arrives',
  ' as',
  ' a',
  ' part',
  '.',
  ' Ü',
  'ber',
  ' café',
  ' 😀',
  ' done',
];

export const DEFAULT_TOKENS = 20;
export const MAX_TOKENS = 100_000;

export function planStream(spec: StreamSpec, input: StreamInput): StreamPlan {
  if (spec.model === 'echo') return planEcho(spec, input);
  return planTokens(spec, input);
}

function between(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

function delay(base: number, jitter: number, random: Random): number {
  if (jitter <= 0) return base;
  return Math.max(0, base + (random() * 2 - 1) * jitter);
}

function planEcho(spec: StreamSpec, input: StreamInput): StreamPlan {
  const body = input.body;
  let { min, max } = spec.partBytes ?? { min: 1, max: 64 };
  // A big body in 1-64 byte parts is tens of thousands of events: keep to about 4096 parts.
  if (spec.partBytes === undefined && body.length > 256 * 1024) {
    min = Math.ceil(body.length / 8192);
    max = min * 3;
  }
  const chunks: StreamChunk[] = [];
  const first = spec.firstTokenMs ?? 0;
  const gap = spec.interTokenMs ?? 0;
  const jitter = spec.jitterMs ?? 0;
  for (let off = 0; off < body.length; ) {
    const n = Math.min(body.length - off, between(input.random, Math.max(1, min), Math.max(1, min, max)));
    chunks.push({ bytes: body.subarray(off, off + n), delayMs: delay(chunks.length === 0 ? first : gap, jitter, input.random) });
    off += n;
  }
  // (as the InvokeEndpoint model `mirror` types its answer)
  const contentType = input.headers['x-amzn-sagemaker-accept'] || input.headers['content-type'] || 'application/octet-stream';
  return { contentType, chunks, completionTokens: 0, promptTokens: 0, text: '' };
}

/** The prompt and the tokens asked for, from a TGI/LMI `{"inputs", "parameters"}` or an OpenAI `{"messages"|"prompt", "max_tokens"}` body. */
export function readRequest(body: Buffer): { prompt: string; maxTokens: number | undefined } {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return { prompt: body.toString('utf8'), maxTokens: undefined };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return { prompt: '', maxTokens: undefined };
  const d = doc as Record<string, unknown>;
  const params = (typeof d.parameters === 'object' && d.parameters !== null ? d.parameters : {}) as Record<string, unknown>;
  const n = params.max_new_tokens ?? d.max_tokens ?? d.max_completion_tokens ?? d.max_new_tokens;
  const maxTokens = Number.isInteger(n) && (n as number) >= 0 ? Math.min(n as number, MAX_TOKENS) : undefined;
  let prompt = '';
  if (typeof d.inputs === 'string') prompt = d.inputs;
  else if (typeof d.prompt === 'string') prompt = d.prompt;
  else if (Array.isArray(d.messages)) {
    for (const m of d.messages) if (m && typeof (m as Record<string, unknown>).content === 'string') prompt += `${(m as Record<string, string>).content} `;
  }
  return { prompt, maxTokens };
}

export const countWords = (text: string): number => (text.trim() === '' ? 0 : text.trim().split(/\s+/).length);

interface Token {
  id: number;
  text: string;
  logprob: number;
}

/** The events of a token model, one per token (plus its framing events), as text. */
function events(model: Exclude<StreamModelName, 'echo'>, tokens: Token[], prompt: string, promptTokens: number, errorAfter?: number): string[] {
  if (errorAfter !== undefined && errorAfter < tokens.length) return failingEvents(model, tokens.slice(0, errorAfter));
  const text = tokens.map((t) => t.text).join('');
  const n = tokens.length;
  const out: string[] = [];
  if (model === 'tgi') {
    tokens.forEach((t, i) => {
      const last = i === n - 1;
      const details = last ? { finish_reason: 'length', generated_tokens: n, seed: null } : null;
      const ev = { index: i + 1, token: { id: t.id, text: t.text, logprob: t.logprob, special: false }, generated_text: last ? text : null, details };
      out.push(`data:${JSON.stringify(ev)}\n\n`);
    });
    return out;
  }
  if (model === 'lmi') {
    tokens.forEach((t, i) => {
      const ev: Record<string, unknown> = { token: { id: t.id, text: t.text, log_prob: t.logprob } };
      if (i === n - 1) {
        ev.generated_text = text;
        ev.details = { finish_reason: 'length', generated_tokens: n, inputs: prompt };
      }
      out.push(`${JSON.stringify(ev)}\n`);
    });
    return out;
  }
  const base = { id: 'chatcmpl-emulator', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'emulator' };
  const chunk = (delta: Record<string, unknown>, finish: string | null): string =>
    `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
  // The role delta rides with the first token (vLLM sends it alone; TGI with the first content).
  tokens.forEach((t, i) => {
    out.push(chunk(i === 0 ? { role: 'assistant', content: t.text } : { content: t.text }, null));
  });
  const usage = { prompt_tokens: promptTokens, completion_tokens: n, total_tokens: promptTokens + n };
  // The end: a finish_reason chunk, the usage chunk (choices empty), [DONE] — sent together, after the last token.
  out.push(chunk({}, 'length') + `data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n` + 'data: [DONE]\n\n');
  return out;
}

/** A stream whose container fails after `tokens`: each container's own error inside a 200 stream. */
function failingEvents(model: Exclude<StreamModelName, 'echo'>, tokens: Token[]): string[] {
  const out: string[] = [];
  if (model === 'tgi') {
    tokens.forEach((t, i) => {
      out.push(
        `data:${JSON.stringify({ index: i + 1, token: { id: t.id, text: t.text, logprob: t.logprob, special: false }, generated_text: null, details: null })}\n\n`,
      );
    });
    out.push(`data:${JSON.stringify({ error: 'Request failed during generation: Server error: CUDA out of memory', error_type: 'generation' })}\n\n`);
    return out;
  }
  if (model === 'lmi') {
    for (const t of tokens) out.push(`${JSON.stringify({ token: { id: t.id, text: t.text, log_prob: t.logprob } })}\n`);
    // LMI's error token (its documented error response when streaming).
    const error = {
      token: { id: -1, text: '', log_prob: -1, special_token: true },
      generated_text: '',
      details: { finish_reason: 'error', generated_tokens: null, inputs: null },
    };
    out.push(`${JSON.stringify(error)}\n`);
    return out;
  }
  const base = { id: 'chatcmpl-emulator', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'emulator' };
  tokens.forEach((t, i) => {
    const delta = i === 0 ? { role: 'assistant', content: t.text } : { content: t.text };
    out.push(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: null }] })}\n\n`);
  });
  out.push(
    `data: ${JSON.stringify({ error: { object: 'error', message: 'The model failed during generation', type: 'InternalServerError', code: 500 } })}\n\ndata: [DONE]\n\n`,
  );
  return out;
}

const CONTENT_TYPES: Record<Exclude<StreamModelName, 'echo'>, string> = {
  tgi: 'text/event-stream',
  openai: 'text/event-stream',
  lmi: 'application/jsonlines',
};

function planTokens(spec: StreamSpec, input: StreamInput): StreamPlan {
  const model = spec.model as Exclude<StreamModelName, 'echo'>;
  const { random } = input;
  const req = readRequest(input.body);
  const n = req.maxTokens ?? spec.tokens ?? DEFAULT_TOKENS;
  const tokens: Token[] = [];
  for (let i = 0; i < n; i++) {
    const w = Math.floor(random() * WORDS.length);
    tokens.push({ id: 1000 + w, text: WORDS[w]!, logprob: -Math.round(random() * 5000) / 1000 });
  }
  const promptTokens = countWords(req.prompt);
  const evs = events(model, tokens, req.prompt, promptTokens, spec.errorAfterTokens);
  const chunks: StreamChunk[] = [];
  const first = (spec.firstTokenMs ?? 0) + (spec.promptTokenMs ?? 0) * promptTokens;
  const gap = spec.interTokenMs ?? 0;
  const jitter = spec.jitterMs ?? 0;
  evs.forEach((ev, i) => {
    // (openai's closing events go with the last token: no delay of their own.)
    const d = i === 0 ? first : model === 'openai' && i === evs.length - 1 ? 0 : gap;
    const bytes = Buffer.from(ev, 'utf8');
    const wait = delay(d, jitter, random);
    if (spec.split !== 'random' || bytes.length < 2) {
      chunks.push({ bytes, delayMs: wait });
      return;
    }
    const cuts = between(random, 1, Math.min(3, bytes.length));
    let off = 0;
    for (let k = 0; k < cuts; k++) {
      const end = k === cuts - 1 ? bytes.length : between(random, off + 1, bytes.length - (cuts - 1 - k));
      chunks.push({ bytes: bytes.subarray(off, end), delayMs: k === 0 ? wait : 0 });
      off = end;
    }
  });
  return {
    contentType: CONTENT_TYPES[model],
    chunks,
    completionTokens: Math.min(n, spec.errorAfterTokens ?? n),
    promptTokens,
    text: tokens.map((t) => t.text).join(''),
  };
}

/** Checks a StreamSpec from the config or a directive; returns the first problem, or undefined. */
export function checkStreamSpec(v: unknown, path: string): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return `${path} must be an object`;
  const s = v as Record<string, unknown>;
  const num = (k: string): boolean => s[k] === undefined || (typeof s[k] === 'number' && Number.isFinite(s[k]) && (s[k] as number) >= 0);
  if (s.model !== undefined && !STREAM_MODEL_NAMES.includes(s.model as StreamModelName)) return `${path}.model must be one of ${STREAM_MODEL_NAMES.join(', ')}`;
  for (const k of ['tokens', 'firstTokenMs', 'interTokenMs', 'jitterMs', 'promptTokenMs', 'errorAfterTokens'])
    if (!num(k)) return `${path}.${k} must be a number >= 0`;
  if (s.tokens !== undefined && !(Number.isInteger(s.tokens) && (s.tokens as number) <= MAX_TOKENS))
    return `${path}.tokens must be an integer <= ${MAX_TOKENS}`;
  const pb = s.partBytes as Record<string, unknown> | undefined;
  if (
    pb !== undefined &&
    !(
      typeof pb === 'object' &&
      pb !== null &&
      Number.isInteger(pb.min) &&
      Number.isInteger(pb.max) &&
      (pb.min as number) >= 1 &&
      (pb.max as number) >= (pb.min as number)
    )
  ) {
    return `${path}.partBytes must be {"min": N, "max": M} with whole numbers 1 <= N <= M`;
  }
  if (s.split !== undefined && s.split !== 'event' && s.split !== 'random') return `${path}.split must be "event" or "random"`;
  return undefined;
}
