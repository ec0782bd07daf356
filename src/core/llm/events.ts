// Pure: the meaning of one decoded JSON event of an LLM container's stream, for the two families of
// shapes sm-invoke reads. The token family: TGI's SSE events and LMI's JSON lines (and LMI's SSE
// and TGI-compatible modes), `{"token":{...}}` per token, `generated_text` and `details` on the last.
// The OpenAI family: chat.completion.chunk (or text_completion) events, a delta per token, `usage` on
// the last chunk when the request asked for it. A reader is fed events in order and says whether
// each was a token; at the end it gives the reading (answer.ts reads an unstreamed answer with it).
import { SCHEMA_NAMES, type LlmProblem, type LlmReading, type LlmSchema, type RequestSchema } from './types.js';

export type Family = 'token' | 'openai';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const count = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The family a JSON value belongs to, from its members; undefined when it is neither. */
export function familyOf(doc: unknown): Family | undefined {
  if (!isObj(doc)) return undefined;
  if (Array.isArray(doc.choices) || doc.object === 'error' || (typeof doc.object === 'string' && /^(chat\.completion|text_completion|list)/.test(doc.object))) {
    return 'openai';
  }
  if (isObj(doc.token) || 'generated_text' in doc || Array.isArray(doc.outputs) || typeof doc.error === 'string') return 'token';
  return undefined;
}

/** The schema a family is named by: the one asked for when it is of that family, else the usual one. */
export function schemaOf(family: Family, asked: LlmSchema, framing: 'sse' | 'lines' | 'whole'): RequestSchema {
  if (family === 'openai') return 'openai';
  if (asked === 'tgi' || asked === 'lmi') return asked;
  return framing === 'lines' ? 'lmi' : 'tgi';
}

/** The problem when the family found is not the one the schema asked for. */
export function mismatch(asked: LlmSchema, family: Family): LlmProblem | undefined {
  if (asked === 'auto') return undefined;
  const want: Family = asked === 'openai' ? 'openai' : 'token';
  if (want === family) return undefined;
  const got = family === 'openai' ? 'an OpenAI chat/completions answer' : 'a TGI/LMI answer (generated_text, token events)';
  return { code: 'LlmShapeError', message: `--llm ${asked}: expected ${SCHEMA_NAMES[asked]}'s answer, got ${got}` };
}

/** Reads one answer's events (or its one whole document) of a family. */
export class EventReader {
  tokens = 0;
  problem: LlmProblem | undefined;
  #parts: string[] = [];
  #finalText: string | null = null;
  #finish: string | null = null;
  #out: number | null = null;
  #in: number | null = null;
  #sawText = false;

  constructor(readonly family: Family) {}

  /** Takes one event; true when it carried a token (the token clock's tick). */
  take(ev: unknown): boolean {
    if (!isObj(ev)) {
      this.problem ??= { code: 'LlmShapeError', message: `an event is not a JSON object: ${preview(ev)}` };
      return false;
    }
    return this.family === 'openai' ? this.#chunk(ev) : this.#token(ev);
  }

  #token(ev: Obj): boolean {
    if (typeof ev.error === 'string') {
      this.problem ??= { code: 'LlmError', message: `the container reported an error in its answer: ${ev.error}` };
      return false;
    }
    const details = isObj(ev.details) ? ev.details : undefined;
    if (details) this.#details(details);
    // (LMI's error token carries an empty generated_text: the text streamed before it stays.)
    const text = isObj(ev.token) && ev.token.id === -1 ? null : str(ev.generated_text);
    if (text !== null) this.#finalText = text;
    if (Array.isArray(ev.outputs)) {
      // LMI's dynamic-batch stream: {"outputs": ["text"]} per token.
      const t = str(ev.outputs[0]);
      if (t !== null) this.#add(t);
      this.tokens++;
      return true;
    }
    if (!isObj(ev.token)) return false;
    const tok = ev.token;
    if (tok.id === -1) {
      // LMI's error token: an error during generation, after the 200 head.
      this.problem ??= {
        code: 'LlmError',
        message: `the container reported an error during generation (LMI error token, id -1${this.#finish !== null ? `, finish_reason ${JSON.stringify(this.#finish)}` : ''}) after ${this.tokens} tokens`,
      };
      return false;
    }
    this.tokens++;
    const t = str(tok.text);
    if (t !== null && tok.special !== true && tok.special_token !== true) this.#add(t);
    return true;
  }

  #details(d: Obj): void {
    const finish = str(d.finish_reason);
    if (finish !== null) this.#finish = finish;
    const out = count(d.generated_tokens);
    if (out !== null) this.#out = out;
    if (Array.isArray(d.prefill) && d.prefill.length > 0) this.#in = d.prefill.length;
    if (finish === 'error') {
      this.problem ??= { code: 'LlmError', message: `the container reported an error during generation (finish_reason "error") after ${this.tokens} tokens` };
    }
  }

  #chunk(ev: Obj): boolean {
    if (ev.object === 'error' || isObj(ev.error)) {
      const e = isObj(ev.error) ? ev.error : ev;
      this.problem ??= { code: 'LlmError', message: `the container reported an error in its answer: ${str(e.message) ?? preview(e)}` };
      return false;
    }
    const usage = isObj(ev.usage) ? ev.usage : undefined;
    if (usage) {
      const p = count(usage.prompt_tokens);
      const c = count(usage.completion_tokens);
      if (p !== null) this.#in = p;
      if (c !== null) this.#out = c;
    }
    const choices = Array.isArray(ev.choices) ? ev.choices : [];
    let token = false;
    for (const c of choices) {
      if (!isObj(c) || (c.index !== undefined && c.index !== 0)) continue;
      const finish = str(c.finish_reason);
      if (finish !== null) this.#finish = finish;
      const delta = isObj(c.delta) ? c.delta : undefined;
      const message = isObj(c.message) ? c.message : undefined;
      const text = delta ? str(delta.content) : message ? str(message.content) : str(c.text);
      if (text !== null) this.#add(text);
      // A token is content (or reasoning) text; a role-only or empty delta is not.
      if ((text !== null && text !== '') || (delta && typeof delta.reasoning_content === 'string' && delta.reasoning_content !== '')) token = true;
    }
    if (token) this.tokens++;
    return token;
  }

  #add(t: string): void {
    this.#sawText = true;
    this.#parts.push(t);
  }

  /**
   * The reading: the container's own figures first (usage, details); streamed, the token events
   * counted where the family's events are one token each (TGI, LMI; OpenAI chunks may merge tokens).
   */
  reading(schema: RequestSchema, streamed: boolean): LlmReading {
    const joined = this.#sawText ? this.#parts.join('') : null;
    let out = this.#out;
    if (out === null && streamed && this.family === 'token') out = this.tokens;
    return {
      schema,
      text: this.#finalText ?? joined,
      finishReason: this.#finish,
      inputTokens: this.#in,
      outputTokens: out,
      tokensExact: out !== null,
    };
  }
}

export function preview(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}
