// Pure: what makes a record an InvokeEndpointWithResponseStream request instead of an InvokeEndpoint
// one (the SDK's model, @aws-sdk/client-sagemaker-runtime's InvokeEndpointWithResponseStreamInput):
// its own path, Accept in X-Amzn-SageMaker-Accept, and no TargetModel, EnableExplanations nor
// `SessionId: NEW_SESSION` (only InvokeEndpoint opens a session). test/conformance/sdk-shapes.test.ts
// holds this against the SDK's shapes.
import { H_ACCEPT, H_SM_ACCEPT, STREAM_PATH_SUFFIX } from '../constants.js';
import type { RecordError } from '../errors.js';
import type { FieldKey, FieldValues } from './fields.js';
import type { BadRecord, GoodRecord } from './records.js';
import type { HttpRequestSpec } from '../wire.js';

/** The members InvokeEndpoint has and InvokeEndpointWithResponseStream lacks, with the rule's words. */
export const NOT_STREAMED: ReadonlyArray<{ key: FieldKey; why: string }> = [
  { key: 'targetModel', why: 'InvokeEndpointWithResponseStream has no TargetModel (multi-model endpoints are invoked without --stream)' },
  { key: 'enableExplanations', why: 'InvokeEndpointWithResponseStream has no EnableExplanations (Clarify explanations come from InvokeEndpoint)' },
];

/** The first rule a streamed record's fields break: the field and the message, or undefined. */
export function streamRefusal(fields: FieldValues): { field: FieldKey; message: string } | undefined {
  for (const { key, why } of NOT_STREAMED) if (fields[key] !== undefined) return { field: key, message: `${key} cannot be streamed: ${why}` };
  if (fields.sessionId === 'NEW_SESSION') {
    return {
      field: 'sessionId',
      message: 'sessionId NEW_SESSION cannot be streamed: only InvokeEndpoint opens a session; open it without stream, then stream with its session ID',
    };
  }
  return undefined;
}

/** The record, or its error when it cannot be streamed (decided before anything is sent). */
export function refuseForStream(rec: GoodRecord): GoodRecord | BadRecord {
  const why = streamRefusal(rec.fields);
  if (why === undefined) return rec;
  const error: RecordError = { code: 'InvalidRecord', message: why.message, field: why.field };
  const bad: BadRecord = { line: rec.line, error, body: rec.body };
  if (rec.fields.inferenceId !== undefined) bad.inferenceId = rec.fields.inferenceId;
  if (rec.meta !== undefined) bad.meta = rec.meta;
  if (rec.input !== undefined) bad.input = rec.input;
  return bad;
}

/** An InvokeEndpoint request made the streaming operation's: its path and its Accept header. */
export function toStreamRequest(spec: HttpRequestSpec): HttpRequestSpec {
  const accept = spec.headers[H_ACCEPT];
  if (accept !== undefined) {
    delete spec.headers[H_ACCEPT];
    spec.headers[H_SM_ACCEPT] = accept;
  }
  spec.path += STREAM_PATH_SUFFIX.slice('/invocations'.length);
  return spec;
}
