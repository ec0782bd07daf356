// The S3 side of --async: @aws-sdk/client-s3 (its signing, XML errors, checksums, retries), with
// this tool's HTTP handler (sdk-http.ts: undici, the same proxy and CA settings) handed in by the
// CLI, the run's credential chain and region, and the endpoint and addressing of s3-config.ts.
// Four operations, by s3:// URI: put, head, get, delete. Errors come out as S3Failure.
import { Readable } from 'node:stream';
import type { AwsCredentialIdentity } from '@smithy/types';
import type { S3Client } from '@aws-sdk/client-s3';
import { TransportError } from '../wire.js';
import { parseS3Uri, type S3Settings } from './s3-config.js';

export interface ObjectHead {
  size: number;
  contentType: string | undefined;
}

export interface ObjectBody extends ObjectHead {
  body: Buffer;
}

/** The store the async unit works with (core/async/): objects by s3:// URI. */
export interface ObjectStore {
  put(uri: string, body: Buffer, contentType: string | undefined, signal?: AbortSignal): Promise<void>;
  /** undefined: there is no such object (404). */
  head(uri: string, signal?: AbortSignal): Promise<ObjectHead | undefined>;
  get(uri: string, signal?: AbortSignal): Promise<ObjectBody>;
  /** GET, undefined when there is no such object (a poll that reads at once what it finds). */
  read(uri: string, signal?: AbortSignal): Promise<ObjectBody | undefined>;
  delete(uri: string, signal?: AbortSignal): Promise<void>;
  /** S3 requests made, by operation (the benchmark's requests per record). */
  readonly counts: { put: number; head: number; get: number; delete: number };
  close(): void;
}

/** An S3 request that failed: the service's error code, or the transport's (ECONNREFUSED...). */
export class S3Failure extends Error {
  override readonly name = 'S3Failure';
  constructor(
    message: string,
    readonly code: string,
    readonly status: number | undefined,
    /** No S3 answered at all (connection refused, DNS, TLS, proxy). */
    readonly unreachable: boolean,
  ) {
    super(message);
  }
}

/** smithy's HttpHandler, as sdk-http.ts builds it. */
export interface SdkRequestHandler {
  handle(request: unknown, options?: unknown): Promise<{ response: { statusCode: number; headers: Record<string, string>; body: unknown } }>;
}

export interface S3StoreOptions {
  settings: S3Settings;
  region: string;
  credentials: () => Promise<AwsCredentialIdentity>;
  requestHandler: SdkRequestHandler;
  maxAttempts: number;
}

export async function createS3Store(opts: S3StoreOptions): Promise<ObjectStore> {
  // The SDK's one-time notice about its future Node versions is not this tool's to print.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const s3 = await import('@aws-sdk/client-s3');
  const inner = opts.requestHandler;
  // client-s3 reads an object's body as a Node stream; sdk-http.ts gives whole bodies.
  const requestHandler = {
    ...inner,
    metadata: { handlerProtocol: 'http/1.1' },
    async handle(request: unknown, options?: unknown) {
      const out = await inner.handle(request, options);
      const b = out.response.body;
      out.response.body = Readable.from(b instanceof Uint8Array && b.length > 0 ? [b] : []);
      return out;
    },
    updateHttpClientConfig(): void {},
    httpHandlerConfigs(): Record<string, never> {
      return {};
    },
    destroy(): void {},
  };
  const client: S3Client = new s3.S3Client({
    region: opts.region,
    credentials: opts.credentials,
    forcePathStyle: opts.settings.forcePathStyle,
    maxAttempts: opts.maxAttempts,
    requestHandler: requestHandler as never,
    ...(opts.settings.endpointUrl !== undefined ? { endpoint: opts.settings.endpointUrl } : {}),
  });
  const counts = { put: 0, head: 0, get: 0, delete: 0 };
  const at = (uri: string): { Bucket: string; Key: string } => {
    const p = parseS3Uri(uri);
    if (p === undefined || p.key === '') throw new S3Failure(`not an s3://bucket/key URI: ${JSON.stringify(uri)}`, 'InvalidS3Uri', undefined, false);
    return { Bucket: p.bucket, Key: p.key };
  };
  const call = async <T>(what: string, uri: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (err) {
      throw toFailure(err, what, uri);
    }
  };
  return {
    counts,
    put: (uri, body, contentType, signal) =>
      call('PutObject', uri, async () => {
        counts.put++;
        await client.send(new s3.PutObjectCommand({ ...at(uri), Body: body, ...(contentType ? { ContentType: contentType } : {}) }), { abortSignal: signal });
      }),
    head: (uri, signal) =>
      call('HeadObject', uri, async () => {
        counts.head++;
        try {
          const h = await client.send(new s3.HeadObjectCommand(at(uri)), { abortSignal: signal });
          return { size: h.ContentLength ?? 0, contentType: h.ContentType };
        } catch (err) {
          if (statusOf(err) === 404) return undefined;
          throw err;
        }
      }),
    get: (uri, signal) =>
      call('GetObject', uri, async () => {
        counts.get++;
        const g = await client.send(new s3.GetObjectCommand(at(uri)), { abortSignal: signal });
        const body = g.Body === undefined ? Buffer.alloc(0) : Buffer.from(await g.Body.transformToByteArray());
        return { body, size: body.length, contentType: g.ContentType };
      }),
    read: (uri, signal) =>
      call('GetObject', uri, async () => {
        counts.get++;
        try {
          const g = await client.send(new s3.GetObjectCommand(at(uri)), { abortSignal: signal });
          const body = g.Body === undefined ? Buffer.alloc(0) : Buffer.from(await g.Body.transformToByteArray());
          return { body, size: body.length, contentType: g.ContentType };
        } catch (err) {
          if (statusOf(err) === 404) return undefined;
          throw err;
        }
      }),
    delete: (uri, signal) =>
      call('DeleteObject', uri, async () => {
        counts.delete++;
        await client.send(new s3.DeleteObjectCommand(at(uri)), { abortSignal: signal });
      }),
    close: () => client.destroy(),
  };
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function toFailure(err: unknown, what: string, uri: string): S3Failure {
  if (err instanceof S3Failure) return err;
  if (err instanceof TransportError) return new S3Failure(`${what} ${uri}: ${err.code}: ${err.message}`, err.code, undefined, true);
  const e = err as { name?: string; Code?: string; message?: string };
  const status = statusOf(err);
  let code = e.Code ?? e.name ?? 'S3Error';
  // A HEAD's error has no body to name it.
  if ((code === 'Unknown' || code === 'UnknownError') && status === 403) code = 'AccessDenied';
  else if (code === 'Unknown' || code === 'UnknownError') code = `S3Error${status ?? ''}`;
  if (status === undefined) return new S3Failure(`${what} ${uri}: ${code}: ${e.message ?? String(err)}`, code, undefined, true);
  const message = e.message && e.message !== 'UnknownError' ? `: ${e.message}` : '';
  return new S3Failure(`${what} ${uri}: ${code} (${status})${message}`, code, status, false);
}
