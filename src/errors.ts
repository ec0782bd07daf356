// Error types and the process exit codes they map to (main.ts is the only place that exits).

export const EXIT_OK = 0;
/** Some records failed (their error results are in the output). */
export const EXIT_RECORD_ERRORS = 1;
/** Bad command line or configuration: nothing was sent. */
export const EXIT_USAGE = 2;
/** The run could not work at all (credentials, endpoint, region...): stopped early. */
export const EXIT_FATAL = 3;
/** Stopped by --max-errors. */
export const EXIT_TOO_MANY_ERRORS = 4;
export const EXIT_SIGINT = 130;
export const EXIT_SIGTERM = 143;

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
}
