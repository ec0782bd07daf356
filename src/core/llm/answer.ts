// Pure: an unstreamed LLM answer (the whole body) read in its schema: TGI's `[{"generated_text",
// "details"}]` (or the object), LMI's `{"generated_text","details"}`, OpenAI's chat.completion /
// text_completion / embeddings list with `usage`. `auto` tells them apart by their members.
import { isUtf8 } from 'node:buffer';
import { EventReader, familyOf, mismatch, schemaOf } from './events.js';
import type { LlmOutcome, LlmSchema } from './types.js';

export function readAnswer(body: Uint8Array, asked: LlmSchema): LlmOutcome {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (!isUtf8(bytes)) return shape(asked, 'the answer is not UTF-8 text');
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    return shape(asked, `the answer is not JSON (it starts ${JSON.stringify(bytes.toString('utf8', 0, Math.min(40, bytes.length)))})`);
  }
  // TGI's /invocations answers a list (one element per prompt); LMI's TGI-compatible mode too.
  const top = Array.isArray(doc) ? doc[0] : doc;
  const family = familyOf(top);
  if (family === undefined) {
    return shape(asked, Array.isArray(doc) && doc.length === 0 ? 'the answer is an empty list' : 'no generated_text, choices or token events in the answer');
  }
  const wrong = mismatch(asked, family);
  if (wrong) return { ok: false, problem: wrong };
  const reader = new EventReader(family);
  reader.take(top);
  const schema = schemaOf(family, asked, Array.isArray(doc) ? 'sse' : asked === 'auto' && family === 'token' ? 'lines' : 'whole');
  const reading = reader.reading(schema, false);
  if (reader.problem) return { ok: false, problem: reader.problem, reading };
  return { ok: true, reading };
}

function shape(asked: LlmSchema, why: string): LlmOutcome {
  const what = asked === 'auto' ? 'a TGI, LMI or OpenAI answer' : `--llm ${asked}'s answer`;
  return { ok: false, problem: { code: 'LlmShapeError', message: `not ${what}: ${why}` } };
}
