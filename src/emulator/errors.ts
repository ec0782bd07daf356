// Error responses, shaped like SageMaker Runtime's (rest-json, see the wire
// docs/wire.md §3).
//
// Choices where the reference marks real behaviour as unconfirmed:
// - `x-amzn-ErrorType` carries `<Code>:<coral namespace URL>`, the suffixed form
//   seen on a real SageMaker Runtime 403. Front-end (auth, throttling, routing)
//   errors use the Coral service namespace; the modelled SageMaker errors use
//   the Smithy namespace. Both SDKs and botocore cut the value at the first ':'.
//   We never send the `namespace#Code` form: botocore 2.9 does not strip '#'.
// - Modelled errors (ValidationError, ModelError, ...) put the text in
//   `Message` (the model's member name); front-end errors use `message`.
// - AccessDeniedException is 400, per the AWS common-errors table.

export const ACCOUNT_ID_DEFAULT = '123456789012';

const CORAL_SERVICE_NS = 'http://internal.amazon.com/coral/com.amazon.coral.service/';
const SAGEMAKER_NS = 'http://internal.amazon.com/coral/com.amazonaws.sagemakerruntime/';

export interface ApiError {
  readonly status: number;
  readonly code: string;
  /** Value of the `x-amzn-ErrorType` header. */
  readonly errorType: string;
  /** JSON response body. */
  readonly body: Readonly<Record<string, unknown>>;
  /** Extra response headers (e.g. Retry-After). */
  readonly headers?: Readonly<Record<string, string>>;
}

function frontEnd(status: number, code: string, message: string | null): ApiError {
  return { status, code, errorType: `${code}:${CORAL_SERVICE_NS}`, body: { message } };
}

function modelled(status: number, code: string, body: Record<string, unknown>): ApiError {
  return { status, code, errorType: `${code}:${SAGEMAKER_NS}`, body };
}

/** Adds response headers to an error (returns a new object). */
export function withHeaders(err: ApiError, headers: Record<string, string>): ApiError {
  return { ...err, headers: { ...err.headers, ...headers } };
}

// --- authentication / front end ---------------------------------------------

export const missingAuthenticationToken = (): ApiError => frontEnd(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');

export const unrecognizedClient = (): ApiError => frontEnd(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');

export const SIGNATURE_MISMATCH_MESSAGE =
  'The request signature we calculated does not match the signature you provided. ' +
  'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

export const invalidSignature = (message: string = SIGNATURE_MISMATCH_MESSAGE): ApiError => frontEnd(403, 'InvalidSignatureException', message);

export const incompleteSignature = (message: string): ApiError => frontEnd(400, 'IncompleteSignatureException', message);

export const expiredToken = (): ApiError => frontEnd(403, 'ExpiredTokenException', 'The security token included in the request is expired');

export function accessDenied(region: string, account: string, endpoint: string): ApiError {
  return frontEnd(
    400,
    'AccessDeniedException',
    `User: arn:aws:iam::${account}:user/test is not authorized to perform: sagemaker:InvokeEndpoint ` +
      `on resource: arn:aws:sagemaker:${region}:${account}:endpoint/${endpoint.toLowerCase()} ` +
      'because no identity-based policy allows the sagemaker:InvokeEndpoint action',
  );
}

/** Any method/path other than POST /endpoints/{name}/invocations. */
export const unknownOperation = (): ApiError => frontEnd(404, 'UnknownOperationException', null);

/** Seen on InvokeEndpoint with exactly this body: `{"message":null}`. */
export const throttling = (): ApiError => frontEnd(400, 'ThrottlingException', null);

// --- modelled SageMaker Runtime errors --------------------------------------

export const validationError = (message: string): ApiError => modelled(400, 'ValidationError', { Message: message });

export const modelNotReady = (): ApiError =>
  modelled(429, 'ModelNotReadyException', {
    Message: 'Model is not ready to serve inference requests. Retry the request after some time.',
  });

export const internalFailure = (): ApiError => modelled(500, 'InternalFailure', { Message: 'An internal failure occurred. Please retry your request.' });

export const serviceUnavailable = (): ApiError => modelled(503, 'ServiceUnavailable', { Message: 'The service is unavailable. Please retry your request.' });

export const internalDependency = (): ApiError =>
  modelled(530, 'InternalDependencyException', {
    Message: 'An internal dependency failed. Please contact AWS Support.',
  });

export interface ModelErrorInput {
  region: string;
  account: string;
  endpoint: string;
  /** Production variant; the real message names the container ("primary"). */
  container?: string;
  originalStatusCode?: number;
  originalMessage?: string;
}

/** 424 ModelError, with the unmodelled `ErrorCode` member real responses carry. */
export function modelError(input: ModelErrorInput): ApiError {
  const { region, account, endpoint } = input;
  const status = input.originalStatusCode ?? 400;
  const original = input.originalMessage ?? '{"error":"emulated model error"}';
  const kind = status >= 500 || status === 0 ? 'server' : 'client';
  const group = `/aws/sagemaker/Endpoints/${endpoint}`;
  return modelled(424, 'ModelError', {
    ErrorCode: kind === 'server' ? 'SERVER_ERROR_FROM_MODEL' : 'CLIENT_ERROR_FROM_MODEL',
    LogStreamArn: `arn:aws:logs:${region}:${account}:log-group:${group}`,
    Message:
      `Received ${kind} error (${status}) from ${input.container ?? 'primary'} with message "${original}". ` +
      `See https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#logEventViewer:group=${group} ` +
      `in account ${account} for more information.`,
    OriginalMessage: original,
    OriginalStatusCode: status,
  });
}
