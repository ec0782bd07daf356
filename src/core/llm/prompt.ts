// Pure: a plain-text prompt becomes the container's own request (--prompt with --llm):
// TGI and LMI `{"inputs", "parameters": {...}, "stream"}` (details asked for, so that the answer
// carries its token counts), OpenAI chat `{"messages": [...], "max_tokens", "temperature",
// "stream", "stream_options": {"include_usage": true}}` (usage on the last chunk). The schema's own
// stream flag follows the record's --stream.
import { isUtf8 } from 'node:buffer';
import type { FieldValues } from '../fields.js';
import type { DecodedRecord } from '../records.js';
import type { RequestSchema } from './types.js';

export interface PromptSettings {
  schema: RequestSchema;
  maxNewTokens?: number | undefined;
  temperature?: number | undefined;
  /** OpenAI only: a system message before the prompt. */
  system?: string | undefined;
}

export function promptBody(prompt: string, s: PromptSettings, stream: boolean): Buffer {
  let doc: Record<string, unknown>;
  if (s.schema === 'openai') {
    const messages: { role: string; content: string }[] = [];
    if (s.system !== undefined) messages.push({ role: 'system', content: s.system });
    messages.push({ role: 'user', content: prompt });
    doc = { messages };
    if (s.maxNewTokens !== undefined) doc.max_tokens = s.maxNewTokens;
    if (s.temperature !== undefined) doc.temperature = s.temperature;
    doc.stream = stream;
    if (stream) doc.stream_options = { include_usage: true };
  } else {
    const parameters: Record<string, unknown> = {};
    if (s.maxNewTokens !== undefined) parameters.max_new_tokens = s.maxNewTokens;
    if (s.temperature !== undefined) {
      // TGI refuses temperature 0 (it must be strictly positive): 0 means greedy decoding, the default.
      if (s.temperature > 0) {
        parameters.temperature = s.temperature;
        parameters.do_sample = true; // (LMI up to 0.31 samples only with do_sample)
      } else parameters.do_sample = false;
    }
    parameters.details = true;
    doc = { inputs: prompt, parameters, stream };
  }
  return Buffer.from(JSON.stringify(doc), 'utf8');
}

/**
 * A body-mode input line as a prompt: the line's text, or, when the whole line is one JSON string,
 * that string (so that a prompt may hold newlines). Latin1 in (lines.ts), text out; undefined when
 * the line is not UTF-8.
 */
export function promptOfLine(latin1: string): string | undefined {
  const bytes = Buffer.from(latin1, 'latin1');
  if (!isUtf8(bytes)) return undefined;
  const text = bytes.toString('utf8');
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) {
    try {
      const v: unknown = JSON.parse(text);
      if (typeof v === 'string') return v;
    } catch {
      // not one JSON string: the line as written
    }
  }
  return text;
}

/** --prompt without --envelope: each line is a prompt, built into the schema's request. */
export function promptDecoder(
  s: PromptSettings,
  defaults: FieldValues,
  maxBodyBytes: number,
): (latin1: string, line: number, stream: boolean) => DecodedRecord {
  return (latin1, line, stream) => {
    const prompt = promptOfLine(latin1);
    if (prompt === undefined) return { line, error: { code: 'InvalidUtf8', message: 'line is not valid UTF-8 (a prompt must be UTF-8 text)' } };
    const body = promptBody(prompt, s, stream);
    if (body.length > maxBodyBytes) {
      return {
        line,
        error: {
          code: 'InvalidRecord',
          message: `the request for this prompt is ${body.length} bytes; InvokeEndpoint accepts at most ${maxBodyBytes} bytes (6 MiB)`,
          field: 'prompt',
        },
      };
    }
    return { line, fields: defaults, body };
  };
}
