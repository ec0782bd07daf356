// The API members sm-invoke knows, by operation, as the SDK's model names them
// (@aws-sdk/client-sagemaker-runtime's schemas). Inputs come from fields.ts (a flag and an
// envelope key each) plus the endpoint name and the body; NOT_STREAMED (stream-request.ts) lists
// what the streaming operation lacks. Outputs: the response header each is read from
// (invoke.ts's answered()) and the result key it becomes. test/conformance/sdk-stream.test.ts fails
// when the SDK's model has a member missing here, so a new member cannot go unnoticed.
import * as C from '../constants.js';

export interface OutputMember {
  /** Response header, lower-case; undefined for the body. */
  header: string | undefined;
  resultKey: string;
}

export const OUTPUT_MEMBERS: Readonly<Record<'InvokeEndpoint' | 'InvokeEndpointWithResponseStream', Readonly<Record<string, OutputMember>>>> = {
  InvokeEndpoint: {
    Body: { header: undefined, resultKey: 'body' },
    ContentType: { header: C.H_CONTENT_TYPE, resultKey: 'contentType' },
    InvokedProductionVariant: { header: C.H_INVOKED_VARIANT, resultKey: 'invokedProductionVariant' },
    CustomAttributes: { header: C.H_CUSTOM_ATTRIBUTES, resultKey: 'customAttributes' },
    NewSessionId: { header: C.H_NEW_SESSION_ID, resultKey: 'newSessionId' },
    ClosedSessionId: { header: C.H_CLOSED_SESSION_ID, resultKey: 'closedSessionId' },
  },
  InvokeEndpointWithResponseStream: {
    // The event stream's PayloadParts, concatenated (stream-invoke.ts).
    Body: { header: undefined, resultKey: 'body' },
    ContentType: { header: C.H_SM_CONTENT_TYPE, resultKey: 'contentType' },
    InvokedProductionVariant: { header: C.H_INVOKED_VARIANT, resultKey: 'invokedProductionVariant' },
    CustomAttributes: { header: C.H_CUSTOM_ATTRIBUTES, resultKey: 'customAttributes' },
  },
};

/** Input members that are not fields.ts rules: the endpoint name (the path) and the body. */
export const NON_FIELD_INPUTS: readonly string[] = ['EndpointName', 'Body'];
