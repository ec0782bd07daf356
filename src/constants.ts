// Wire strings and limits of SageMaker Runtime InvokeEndpoint (API 2017-05-13).
// Wire facts: docs/wire.md, sections 1.4, 2 and 3.

export const SIGNING_NAME = 'sagemaker';
export const ENDPOINT_PREFIX = 'runtime.sagemaker';

/** Max request/response body, bytes (6 MiB). */
export const MAX_BODY_BYTES = 6_291_456;

/** Request headers, lower-case, as the service names them. */
export const H_CONTENT_TYPE = 'content-type';
export const H_ACCEPT = 'accept';
export const H_CUSTOM_ATTRIBUTES = 'x-amzn-sagemaker-custom-attributes';
export const H_TARGET_MODEL = 'x-amzn-sagemaker-target-model';
export const H_TARGET_VARIANT = 'x-amzn-sagemaker-target-variant';
export const H_TARGET_CONTAINER_HOSTNAME = 'x-amzn-sagemaker-target-container-hostname';
export const H_INFERENCE_ID = 'x-amzn-sagemaker-inference-id';
export const H_ENABLE_EXPLANATIONS = 'x-amzn-sagemaker-enable-explanations';
export const H_INFERENCE_COMPONENT = 'x-amzn-sagemaker-inference-component';
export const H_SESSION_ID = 'x-amzn-sagemaker-session-id';
export const H_PREFIX_AWARE_ID = 'x-amzn-sagemaker-prefix-aware-id';
/** InvokeEndpointWithResponseStream's Accept (the operation has no plain `Accept`). */
export const H_SM_ACCEPT = 'x-amzn-sagemaker-accept';

/** Response headers, lower-case (Node lower-cases incoming header names). */
export const H_INVOKED_VARIANT = 'x-amzn-invoked-production-variant';
export const H_NEW_SESSION_ID = 'x-amzn-sagemaker-new-session-id';
export const H_CLOSED_SESSION_ID = 'x-amzn-sagemaker-closed-session-id';
/** InvokeEndpointWithResponseStream: the model's content type (the HTTP Content-Type is the event stream's). */
export const H_SM_CONTENT_TYPE = 'x-amzn-sagemaker-content-type';
export const H_ERROR_TYPE = 'x-amzn-errortype';
export const H_REQUEST_ID = 'x-amzn-requestid';

/** Default per-attempt timeout: the service lets a model run 60 s; AWS advises a 70 s socket timeout. */
export const DEFAULT_TIMEOUT_MS = 70_000;
export const DEFAULT_CONCURRENCY = 8;
export const MAX_CONCURRENCY = 1024;

/** InvokeEndpointWithResponseStream's path after /endpoints/{name} (docs/streaming.md). */
export const STREAM_PATH_SUFFIX = '/invocations-response-stream';
/** Longest pause between two parts of a stream by default (--stream-idle-timeout). */
export const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 60_000;
/**
 * A whole stream at most by default (--stream-timeout): the service ends a streamed answer after
 * 8 minutes (ModelStreamError ModelInvocationTimeExceeded); 10 s more lets its own error arrive.
 */
export const DEFAULT_STREAM_TIMEOUT_MS = 490_000;
