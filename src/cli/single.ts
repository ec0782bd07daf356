// `--body`: one InvokeEndpoint call, as `aws sagemaker-runtime invoke-endpoint` makes it.
// Pure helpers: reading the --body argument like the AWS CLI (raw-in-base64-out, never
// base64-decoding), and printing the response metadata and errors the way the CLI prints them.
import { isUtf8 } from 'node:buffer';
import { UsageError, type RecordError } from '../errors.js';
import type { Result } from '../core/result-format.js';

export interface BodyFs {
  readFile(path: string): Buffer;
  home: string;
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * `fileb://path`: the file's bytes; `file://path`: the file read as UTF-8 text (not valid UTF-8 is an
 * error, as in the CLI); anything else: the literal text, sent as UTF-8 — never base64-decoded.
 * `~` and `$VAR`/`${VAR}` in paths are expanded as the AWS CLI does.
 */
export function readBodyArgument(value: string, fs: BodyFs): Buffer {
  const m = /^(fileb?):\/\/(.*)$/s.exec(value);
  if (!m) return Buffer.from(value, 'utf8');
  const [, scheme, rawPath] = m as unknown as [string, string, string];
  const path = expandPath(rawPath, fs);
  let bytes: Buffer;
  try {
    bytes = fs.readFile(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UsageError(`--body: cannot read ${scheme}://${rawPath}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
  if (scheme === 'file' && !isUtf8(bytes)) {
    throw new UsageError(`--body: file://${rawPath} is not valid UTF-8 text; use fileb://${rawPath} to send its bytes`);
  }
  return bytes;
}

function expandPath(path: string, fs: BodyFs): string {
  let p = path.replace(/\$(\w+)|\$\{(\w+)\}/g, (whole, a: string | undefined, b: string | undefined) => fs.env[(a ?? b)!] ?? whole);
  if (p === '~' || p.startsWith('~/')) p = fs.home + p.slice(1);
  return p;
}

/** The JSON the AWS CLI prints on success (4-space indent; Body and ResponseMetadata removed). */
export function formatCliMetadata(r: Result): string {
  const out: Record<string, string> = {};
  if (r.contentType !== undefined) out.ContentType = r.contentType;
  if (r.invokedProductionVariant !== undefined) out.InvokedProductionVariant = r.invokedProductionVariant;
  if (r.customAttributes !== undefined) out.CustomAttributes = r.customAttributes;
  if (r.newSessionId !== undefined) out.NewSessionId = r.newSessionId;
  if (r.closedSessionId !== undefined) out.ClosedSessionId = r.closedSessionId;
  return JSON.stringify(out, null, 4) + '\n';
}

/** `An error occurred (Code) when calling the InvokeEndpoint operation[ (reached max retries: N)]: message`. */
export function formatCliError(e: RecordError, attempts: number | undefined): string {
  const retries = attempts !== undefined && attempts > 1 ? ` (reached max retries: ${attempts - 1})` : '';
  // botocore shows a null message as "None" (ThrottlingException's body is {"message": null}).
  const message = e.message === e.code && e.status !== undefined ? 'None' : e.message;
  return `\nAn error occurred (${e.code}) when calling the InvokeEndpoint operation${retries}: ${message}\n`;
}

/** The AWS CLI v2's exit code for a service error. */
export const EXIT_CLI_SERVICE_ERROR = 254;
