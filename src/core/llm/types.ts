// What sm-invoke reads from an LLM container's answer (--llm): the generated text, why it stopped,
// the tokens in and out as the container reported or streamed them, and the stream's timing.

/** The answer shapes sm-invoke reads; `auto` recognises them from the answer. */
export type LlmSchema = 'tgi' | 'openai' | 'lmi' | 'auto';
export const LLM_SCHEMAS: readonly LlmSchema[] = ['tgi', 'openai', 'lmi', 'auto'];

/** The schemas a request can be built for (--prompt): not `auto`. */
export type RequestSchema = Exclude<LlmSchema, 'auto'>;

/** The result line's `llm` member. Numbers the container did not give are null, never guessed. */
export interface LlmInfo {
  /** The generated text (for several choices: the first one's); null when the answer has none (embeddings). */
  text: string | null;
  finishReason: string | null;
  /** The prompt's tokens as the container reported them (OpenAI usage, TGI/LMI prefill details); else null. */
  inputTokens: number | null;
  /** Generated tokens: the container's count (usage, details) or, streamed, its token events counted. */
  outputTokens: number | null;
  /** outputTokens is the container's own figure or a count of its token events (false: null, unknown). */
  tokensExact: boolean;
  /** Streamed: the first token event's arrival, ms since the request was sent (not the first byte). */
  ttftMs: number | null;
  /** Streamed: the gaps between consecutive token events (null with fewer than two). */
  itlMs: { mean: number; p50: number; max: number } | null;
  /** outputTokens over the record's end-to-end latency (llmperf's request output throughput). */
  tokensPerSecond: number | null;
}

/** What an answer's shape gave, before timing: the schema it was read as, and the figures. */
export interface LlmReading {
  schema: RequestSchema;
  text: string | null;
  finishReason: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  tokensExact: boolean;
}

/** An answer that is not what its schema promises, or an error the container reported inside a 2xx answer. */
export interface LlmProblem {
  /** LlmShapeError (not the expected shape), LlmError (the container's error inside a 200 answer). */
  code: 'LlmShapeError' | 'LlmError';
  message: string;
}

export type LlmOutcome = { ok: true; reading: LlmReading } | { ok: false; problem: LlmProblem; reading?: LlmReading };

export const SCHEMA_NAMES: Record<RequestSchema, string> = {
  tgi: 'TGI',
  openai: 'OpenAI chat/completions',
  lmi: 'LMI',
};

/** The result's `llm` member from a reading and its timing, in the documented key order. */
export function llmInfo(r: LlmReading, t: Pick<LlmInfo, 'ttftMs' | 'itlMs' | 'tokensPerSecond'>): LlmInfo {
  return {
    text: r.text,
    finishReason: r.finishReason,
    inputTokens: r.inputTokens,
    outputTokens: r.outputTokens,
    tokensExact: r.tokensExact,
    ttftMs: t.ttftMs,
    itlMs: t.itlMs,
    tokensPerSecond: t.tokensPerSecond,
  };
}
