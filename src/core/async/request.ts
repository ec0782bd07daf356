// Pure: a record becomes an unsigned InvokeEndpointAsync request (docs/async.md §1): the body inline,
// or none and X-Amzn-SageMaker-InputLocation.
import { H_CUSTOM_ATTRIBUTES, H_INFERENCE_ID } from '../../constants.js';
import type { GoodRecord } from '../records.js';
import { buildRequest, type HttpRequestSpec, type Target } from '../request.js';
import { ASYNC_FIELDS, H_ASYNC_ACCEPT, H_ASYNC_CONTENT_TYPE, PATH } from './fields.js';

/** `rec.body` is the inline body, or empty with `rec.fields.inputLocation` set. */
export function buildAsyncRequest(rec: GoodRecord, target: Target): HttpRequestSpec {
  const base = buildRequest(rec, target);
  const f = rec.fields;
  const headers: Record<string, string> = {
    host: base.headers.host!,
    'content-length': String(rec.body.length),
    'user-agent': base.headers['user-agent']!,
  };
  if (f.contentType !== undefined) headers[H_ASYNC_CONTENT_TYPE] = f.contentType;
  if (f.accept !== undefined) headers[H_ASYNC_ACCEPT] = f.accept;
  if (f.customAttributes !== undefined) headers[H_CUSTOM_ATTRIBUTES] = f.customAttributes;
  if (f.inferenceId !== undefined) headers[H_INFERENCE_ID] = f.inferenceId;
  for (const rule of ASYNC_FIELDS) {
    const v = f[rule.key];
    // --filename "out-{line}.json": each record's own name.
    if (v !== undefined) headers[rule.header!] = rule.key === 'filename' ? v.replaceAll('{line}', String(rec.line)) : v;
  }
  return { ...base, path: `${target.basePath}${PATH(f.endpointName!)}`, headers };
}
