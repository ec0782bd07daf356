// Endpoints the service said do not exist, or that these credentials may not invoke. When it is the
// run's own endpoint (--endpoint-name) every record would fail: that is fatal (fatal.ts). When only
// some envelopes name it, the records that name it fail without being sent, and the rest go on.
import type { RecordError } from '../errors.js';
import { isEndpointNotFound } from '../aws/service-error.js';

export class DeadEndpoints {
  readonly #dead = new Map<string, { line: number; error: RecordError }>();

  /** The run's default endpoint: a failure of that one is not remembered here but stops the run. */
  constructor(private readonly defaultEndpoint: string | undefined) {}

  /** Remembers `endpoint` when `error` says it is missing or denied; true when it did. */
  note(endpoint: string, line: number, error: RecordError): boolean {
    if (endpoint === this.defaultEndpoint) return false;
    if (!isEndpointNotFound(error) && error.code !== 'AccessDeniedException') return false;
    this.#dead.set(endpoint, { line, error });
    return true;
  }

  /** The error for a record naming a known-dead endpoint (not sent), or undefined. */
  check(endpoint: string): RecordError | undefined {
    const dead = this.#dead.get(endpoint);
    if (dead === undefined) return undefined;
    const why = dead.error.code === 'AccessDeniedException' ? 'may not be invoked with these credentials' : 'was not found';
    return { code: dead.error.code, message: `endpoint ${endpoint} ${why} (see line ${dead.line}); not sent` };
  }
}
