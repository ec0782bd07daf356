// Pure: the batch files of other services read as records, as they are.
// - `openai-batch`: the OpenAI Batch API's (and `vllm run-batch`'s) input line,
//   `{"custom_id", "method": "POST", "url", "body"}`; the url names the OpenAI route
//   (/v1/chat/completions, /v1/completions, /v1/embeddings) and the body is sent as written (a
//   SageMaker endpoint has one route; LMI and vLLM containers tell the requests apart by their
//   bodies). A missing or repeated custom_id fails its record, as the Batch API's validation does.
// - `bedrock-batch`: Bedrock batch inference's `{"recordId", "modelInput"}`; modelInput is sent as
//   written; a missing recordId gets one (11 characters, from the line number) as Bedrock adds one.
// Unknown keys are ignored, as the services ignore them.
import { isUtf8 } from 'node:buffer';
import { MAX_BODY_BYTES } from '../../constants.js';
import type { FieldValues } from '../fields.js';
import { scanObject, type JsonMember } from '../json-exact.js';
import type { BadRecord, DecodedRecord, GoodRecord } from '../records.js';

export type InputFormat = 'openai-batch' | 'bedrock-batch';
export const INPUT_FORMATS: readonly InputFormat[] = ['openai-batch', 'bedrock-batch'];

export const OPENAI_BATCH_URLS: readonly string[] = ['/v1/chat/completions', '/v1/completions', '/v1/embeddings'];

/** Decodes one line (latin1 text, blank lines already skipped) of a batch file. */
export type LineDecoder = (latin1: string, line: number) => DecodedRecord;

const NON_ASCII = /[\x80-\xff]/;

/** A decoder for a whole run (it remembers the custom_ids seen, to refuse a repeated one). */
export function batchDecoder(format: InputFormat, defaults: FieldValues): LineDecoder {
  const seen = new Map<string, number>();
  const fields: FieldValues = { contentType: 'application/json', ...defaults };
  return (latin1, line) => {
    let text = latin1;
    if (NON_ASCII.test(latin1)) {
      const bytes = Buffer.from(latin1, 'latin1');
      if (!isUtf8(bytes)) return bad(line, 'InvalidUtf8', 'line is not valid UTF-8 (JSON text must be UTF-8)');
      text = bytes.toString('utf8');
    }
    const scan = scanObject(text);
    if (!scan.ok) return bad(line, scan.code, scan.code === 'InvalidJson' ? `line is not valid JSON: ${scan.message}` : scan.message);
    const m = new Map<string, JsonMember>();
    for (const member of scan.members) m.set(member.key, member);
    return format === 'openai-batch' ? openaiLine(m, line, fields, seen) : bedrockLine(m, line, fields);
  };
}

function openaiLine(m: Map<string, JsonMember>, line: number, fields: FieldValues, seen: Map<string, number>): DecodedRecord {
  const id = m.get('custom_id');
  if (id === undefined || id.kind !== 'string' || id.value === '') {
    return bad(line, 'InvalidRecord', 'missing custom_id: every line of an OpenAI batch file needs a custom_id (a non-empty string)', 'custom_id');
  }
  const customId = id.value!;
  const fail = (field: string, message: string): BadRecord => ({ ...bad(line, 'InvalidRecord', message, field), recordId: customId });
  const first = seen.get(customId);
  if (first !== undefined)
    return fail('custom_id', `duplicate custom_id ${JSON.stringify(customId)} (first on line ${first}): custom_ids must be unique in a batch file`);
  seen.set(customId, line);
  const method = m.get('method');
  if (method === undefined || method.value !== 'POST') {
    return fail('method', `method must be "POST", got ${method === undefined ? 'none' : method.raw.slice(0, 40)}`);
  }
  const url = m.get('url');
  if (url === undefined || url.kind !== 'string' || !OPENAI_BATCH_URLS.includes(url.value!)) {
    return fail('url', `url must be one of ${OPENAI_BATCH_URLS.join(', ')}, got ${url === undefined ? 'none' : url.raw.slice(0, 60)}`);
  }
  const body = m.get('body');
  if (body === undefined || body.kind !== 'object')
    return fail('body', `body must be a JSON object (the request), got ${body === undefined ? 'none' : body.kind}`);
  const bytes = Buffer.from(body.raw, 'utf8');
  if (bytes.length > MAX_BODY_BYTES) return fail('body', `body is ${bytes.length} bytes; InvokeEndpoint accepts at most ${MAX_BODY_BYTES} bytes (6 MiB)`);
  const rec: GoodRecord = { line, fields, body: bytes, recordId: customId };
  return rec;
}

function bedrockLine(m: Map<string, JsonMember>, line: number, fields: FieldValues): DecodedRecord {
  const id = m.get('recordId');
  if (id !== undefined && (id.kind !== 'string' || id.value === ''))
    return bad(line, 'InvalidRecord', `recordId must be a non-empty string, got ${id.raw.slice(0, 40)}`, 'recordId');
  const recordId = id?.value ?? String(line).padStart(11, '0');
  const input = m.get('modelInput');
  if (input === undefined || input.kind !== 'object') {
    const r = bad(
      line,
      'InvalidRecord',
      `modelInput must be a JSON object (the model's request), got ${input === undefined ? 'none' : input.kind}`,
      'modelInput',
    );
    r.recordId = recordId;
    if (input !== undefined) r.input = { json: input.raw };
    return r;
  }
  const bytes = Buffer.from(input.raw, 'utf8');
  if (bytes.length > MAX_BODY_BYTES) {
    return {
      ...bad(line, 'InvalidRecord', `modelInput is ${bytes.length} bytes; InvokeEndpoint accepts at most ${MAX_BODY_BYTES} bytes (6 MiB)`, 'modelInput'),
      recordId,
    };
  }
  return { line, fields, body: bytes, recordId, input: { json: input.raw } };
}

function bad(line: number, code: string, message: string, field?: string): BadRecord {
  const r: BadRecord = { line, error: { code, message } };
  if (field !== undefined) r.error.field = field;
  return r;
}
