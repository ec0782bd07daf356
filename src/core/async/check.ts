// Pure: whether a record can go out as InvokeEndpointAsync, and how its input travels (inline,
// uploaded to --async-input, or the record's own inputLocation). docs/async.md §2.
import type { RecordError } from '../../errors.js';
import type { FieldValues } from '../fields.js';
import type { GoodRecord } from '../records.js';
import { DEFAULT_INVOCATION_TIMEOUT_SECONDS, DEFAULT_TTL_SECONDS, MAX_INLINE_BYTES, NOT_ASYNC } from './fields.js';

export type InputPlan = { kind: 'inline' } | { kind: 'upload' } | { kind: 'location' };

export interface PlanOptions {
  inputMode: 'inline' | 's3' | 'auto';
  inputPrefix: string | undefined;
}

const bad = (field: string, message: string): RecordError => ({ code: 'InvalidRecord', message, field });

export function checkAsyncRecord(rec: GoodRecord, opts: PlanOptions): InputPlan | RecordError {
  const f = rec.fields;
  for (const key of NOT_ASYNC) {
    if (f[key] !== undefined) return bad(key, `${key} is not a member of InvokeEndpointAsync (--async); remove it from the record or the flags`);
  }
  const size = rec.body.length;
  if (f.inputLocation !== undefined) {
    if (size > 0) return bad('inputLocation', 'give either a body or an inputLocation, not both (InvokeEndpointAsync takes one input)');
    return { kind: 'location' };
  }
  if (opts.inputMode === 's3' || (opts.inputMode === 'auto' && size > MAX_INLINE_BYTES)) {
    if (opts.inputPrefix === undefined) {
      return bad(
        'body',
        `body is ${size} bytes, over the ${MAX_INLINE_BYTES.toLocaleString('en-US')} bytes InvokeEndpointAsync takes inline: give --async-input s3://bucket/prefix/ to upload it, or an inputLocation`,
      );
    }
    return { kind: 'upload' };
  }
  if (size > MAX_INLINE_BYTES) {
    return bad(
      'body',
      `body is ${size} bytes; InvokeEndpointAsync takes at most ${MAX_INLINE_BYTES.toLocaleString('en-US')} bytes inline (--async-input-mode inline): use --async-input-mode auto or s3 with --async-input`,
    );
  }
  if (size === 0) return bad('body', 'the body is empty: InvokeEndpointAsync needs an inline body or an input location');
  return { kind: 'inline' };
}

/** How long after its submission a record's answer may still come: RequestTTLSeconds + InvocationTimeoutSeconds, in ms. */
export function deadlineOf(f: FieldValues): number {
  const ttl = f.requestTTLSeconds !== undefined ? Number(f.requestTTLSeconds) : DEFAULT_TTL_SECONDS;
  const timeout = f.invocationTimeoutSeconds !== undefined ? Number(f.invocationTimeoutSeconds) : DEFAULT_INVOCATION_TIMEOUT_SECONDS;
  return (ttl + timeout) * 1000;
}
