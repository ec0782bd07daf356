// Pure: results written as the other services' batch output lines, and read back (--resume).
// - `openai-batch`: the Batch API's output line, `{"id", "custom_id", "response": {"status_code",
//   "request_id", "body"}, "error": null}`; a failed record `{"id", "custom_id", "response": null,
//   "error": {"code", "message"}}`. `id` is `batch_req_<line>`; request_id the endpoint's
//   x-amzn-RequestId.
// - `bedrock-batch`: Bedrock's `.jsonl.out` line, `{"recordId", "modelInput", "modelOutput"}`, or
//   `"error": {"errorCode", "errorMessage"}` in modelOutput's place (errorCode: the HTTP status, 400
//   for a record refused before sending, 500 for the rest).
// The answer's body goes in as the JSON it is (text that is not JSON as a JSON string, binary as
// base64 text).
import { scanObject } from '../json-exact.js';
import { bodyAsJson, type Result } from '../result-format.js';

export type OutputFormat = 'openai-batch' | 'bedrock-batch';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['openai-batch', 'bedrock-batch'];

const q = JSON.stringify;

function bodyJson(r: Result): string {
  const body = r.body ?? Buffer.alloc(0);
  const b = bodyAsJson(body, r.contentType, true);
  if (b === undefined) return q(body.toString('base64'));
  return 'json' in b ? b.json : q(b.text);
}

/** Refused before anything was sent: the record's own fault. */
const CLIENT_CODES = new Set(['InvalidRecord', 'InvalidJson', 'InvalidUtf8', 'LineTooLong']);

export function encodeFormatLine(format: OutputFormat, r: Result): string {
  const id = r.recordId ?? '';
  if (format === 'openai-batch') {
    let s = `{"id":"batch_req_${r.line}","custom_id":${q(id)},`;
    if (r.ok) s += `"response":{"status_code":${r.status ?? 200},"request_id":${q(r.requestId ?? '')},"body":${bodyJson(r)}},"error":null}`;
    else s += `"response":null,"error":{"code":${q(r.error?.code ?? 'Error')},"message":${q(r.error?.message ?? 'failed')}}}`;
    return s;
  }
  let s = `{"recordId":${q(id)},"modelInput":${r.modelInput ?? 'null'},`;
  if (r.ok) s += `"modelOutput":${bodyJson(r)}}`;
  else {
    const e = r.error;
    const status = e?.status ?? (e && CLIENT_CODES.has(e.code) ? 400 : 500);
    s += `"error":{"errorCode":${status},"errorMessage":${q(e ? `${e.code}: ${e.message}` : 'failed')}}}`;
  }
  return s;
}

/** What an output line of the format says: its record's id and whether it was answered; undefined when it is not one. */
export function readFormatLine(format: OutputFormat, text: string): { ok: boolean; recordId: string } | undefined {
  const scan = scanObject(text);
  if (!scan.ok) return undefined;
  const m = new Map(scan.members.map((x) => [x.key, x]));
  if (format === 'openai-batch') {
    const id = m.get('custom_id');
    const response = m.get('response');
    const error = m.get('error');
    if (id?.kind !== 'string' || response === undefined || error === undefined) return undefined;
    return { ok: response.kind === 'object' && error.kind === 'null', recordId: id.value! };
  }
  const id = m.get('recordId');
  if (id?.kind !== 'string' || !m.has('modelInput')) return undefined;
  if (m.has('modelOutput')) return { ok: true, recordId: id.value! };
  if (m.has('error')) return { ok: false, recordId: id.value! };
  return undefined;
}
