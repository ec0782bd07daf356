// Error types shared by every layer (cli/exit-codes.ts maps them to exit codes).

/** A bad command line or environment. Printed as one line, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** An error that would fail every record: the run stops. */
export class FatalError extends Error {
  override readonly name = 'FatalError';
  constructor(
    message: string,
    /** The service or client error code behind it, e.g. `UnrecognizedClientException`. */
    readonly code: string,
    /** What the user should check. */
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** The error part of a failed record's result line. */
export interface RecordError {
  code: string;
  message: string;
  /** HTTP status, when the service answered. */
  status?: number;
  /** The envelope field that failed validation. */
  field?: string;
  originalStatusCode?: number;
  originalMessage?: string;
  logStreamArn?: string;
  requestId?: string;
  /** A streamed answer (--stream) that failed: the service's ErrorCode of a ModelStreamError. */
  errorCode?: string;
  /** A streamed answer that failed: the PayloadParts and their bytes received before it did. */
  parts?: number;
  bytes?: number;
  /** --async: the S3 object the error is about (a failure object, an output not written in time). */
  location?: string;
}
