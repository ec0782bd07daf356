// `--body`: one InvokeEndpoint call, as `aws sagemaker-runtime invoke-endpoint` makes it.
// Pure helpers: reading the --body argument like the AWS CLI (raw-in-base64-out, never
// base64-decoding), and printing the response metadata and errors the way the CLI prints them.
import { isUtf8 } from 'node:buffer';
import fs from 'node:fs';
import { homedir } from 'node:os';
import { MAX_BODY_BYTES } from '../constants.js';
import { UsageError, type FatalError, type RecordError } from '../errors.js';
import type { DecodedRecord } from '../core/records.js';
import type { Options } from './args.js';
import { EXIT_CLI_CONNECT, EXIT_CLI_SERVICE_ERROR, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import { escapeBlock } from './escape.js';
import type { Io } from './io.js';
import type { Result } from '../core/result-format.js';
import type { ObserverFor } from '../core/stream-invoke.js';
import { streamOut } from './single-stream.js';

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
export function formatCliError(e: RecordError, attempts: number | undefined, operation = 'InvokeEndpoint'): string {
  const retries = attempts !== undefined && attempts > 1 ? ` (reached max retries: ${attempts - 1})` : '';
  // botocore shows a null message as "None" (ThrottlingException's body is {"message": null}).
  const message = e.message === e.code && e.status !== undefined ? 'None' : e.message;
  return `\nAn error occurred (${e.code}) when calling the ${operation} operation${retries}: ${message}\n`;
}

/** The single call as a run: its one record, what to do with its result, and its exit code. */
export interface SingleCall {
  records: AsyncIterable<DecodedRecord>;
  onResult(r: Result): Promise<void>;
  /** The exit code once the result was handled (undefined before). */
  exitCode: number | undefined;
  /** A write of the response body that failed. */
  writeError: NodeJS.ErrnoException | undefined;
  /** --stream: writes each part to the outfile as it arrives (single-stream.ts). */
  observe?: ObserverFor;
}

export function singleCall(opts: Options, io: Io): SingleCall {
  const body = readBodyArgument(opts.body!, { readFile: (p) => fs.readFileSync(p), home: homedir(), env: io.env });
  if (body.length > MAX_BODY_BYTES) throw new UsageError(`--body is ${body.length} bytes; InvokeEndpoint accepts at most ${MAX_BODY_BYTES} bytes (6 MiB)`);
  const out = opts.stream ? streamOut(opts.outfile!, io) : undefined;
  const operation = opts.stream ? 'InvokeEndpointWithResponseStream' : 'InvokeEndpoint';
  const call: SingleCall = {
    records: (async function* () {
      yield opts.stream ? { line: 1, fields: opts.defaults, body, stream: true } : { line: 1, fields: opts.defaults, body };
    })(),
    exitCode: undefined,
    writeError: undefined,
    ...(out ? { observe: () => out.observer } : {}),
    async onResult(r) {
      out?.close();
      if (out?.writeError !== undefined) {
        call.writeError = out.writeError;
        return;
      }
      if (!r.ok || r.body === undefined) {
        writeErr(io, formatCliError(r.error!, r.attempts, operation));
        // (A failure inside a stream is the service's answer too.)
        call.exitCode = r.error?.status !== undefined || r.error?.parts !== undefined ? EXIT_CLI_SERVICE_ERROR : EXIT_USAGE;
        return;
      }
      if (out !== undefined) {
        if (opts.outfile === '-' && out.lastByte !== undefined && out.lastByte !== 0x0a) await writeAll(io.stdout, Buffer.from('\n'));
        io.stdout.write(formatCliMetadata(r));
        call.exitCode = EXIT_OK;
        return;
      }
      if (opts.outfile === '-') {
        // The AWS CLI writes a file named "-"; here "-" is stdout, and the metadata JSON starts on
        // a line of its own: a newline after a body that does not end with one.
        await writeAll(io.stdout, r.body);
        if (r.body.length > 0 && r.body[r.body.length - 1] !== 0x0a) await writeAll(io.stdout, Buffer.from('\n'));
      } else {
        try {
          fs.writeFileSync(opts.outfile!, r.body);
        } catch (err) {
          call.writeError = err as NodeJS.ErrnoException;
          return;
        }
      }
      io.stdout.write(formatCliMetadata(r));
      call.exitCode = EXIT_OK;
    },
  };
  return call;
}

/**
 * A fatal stop in --body mode, the AWS CLI's way: a proxy or endpoint that cannot be reached is
 * exit 255 with its words; a service error is its error line and 254. Undefined: report it as a
 * stream run does (credentials).
 */
export function singleFatal(f: FatalError, endpointUrl: string, opts: Options, io: Io): number | undefined {
  if (f.code === 'ProxyUnreachable') {
    // The AWS CLI's words, with the proxy's credentials masked as it masks them.
    const proxyUrl = /cannot connect to proxy (\S+?): /.exec(f.message)?.[1]?.replace('://***@', '://***:***@') ?? '';
    writeErr(io, `\nFailed to connect to proxy URL: "${proxyUrl}"\n`);
    return EXIT_CLI_CONNECT;
  }
  if (/^(E[A-Z]+|ConnectTimeoutError|UND_ERR_CONNECT_TIMEOUT|ProxyTunnelFailed)$/.test(f.code)) {
    writeErr(
      io,
      `\nCould not connect to the endpoint URL: "${endpointUrl}${opts.defaults.endpointName ? `/endpoints/${opts.defaults.endpointName}/invocations${opts.stream ? '-response-stream' : ''}` : ''}"\n`,
    );
    return EXIT_CLI_CONNECT;
  }
  if (f.code === 'CredentialsError') return undefined;
  const operation = opts.stream ? 'InvokeEndpointWithResponseStream' : 'InvokeEndpoint';
  writeErr(io, formatCliError({ code: f.code, message: f.message.slice(f.code.length + 2), status: 0 }, undefined, operation));
  return EXIT_CLI_SERVICE_ERROR;
}

/** The AWS CLI's messages, with any control character from the service escaped (escape.ts). */
function writeErr(io: Io, text: string): void {
  io.stderr.write(escapeBlock(text));
}

function writeAll(stream: NodeJS.WritableStream, data: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (stream.write(data)) resolve();
    else stream.once('drain', () => resolve());
  });
}
