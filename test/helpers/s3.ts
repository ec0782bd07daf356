// A real S3-compatible server on 127.0.0.1 for the --async tests: s3rver (npm, a devDependency),
// started in-process on an ephemeral port over a temporary directory, with the buckets the tests
// use (scripts/lib/s3rver.mjs, shared with the benchmark: its PUTs made atomic, as S3's are). It checks SigV4 with its one key pair, S3RVER / S3RVER: the tests give the tool (and the
// emulator) that key. Plus a client-s3 client to look at what is in it.
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ROOT, tempDir } from './cli.js';

export const S3_KEY = 'S3RVER';
export const S3_SECRET = 'S3RVER';
export const BUCKETS = ['inputs', 'outputs'];

export interface S3Server {
  url: string;
  port: number;
  client: S3Client;
  keys(bucket: string, prefix?: string): Promise<string[]>;
  get(uri: string): Promise<{ body: Buffer; contentType: string | undefined }>;
  exists(uri: string): Promise<boolean>;
  put(uri: string, body: string | Buffer, contentType?: string): Promise<void>;
  close(): Promise<void>;
}

const split = (uri: string): { Bucket: string; Key: string } => {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (m === null) throw new Error(`not an s3 URI: ${uri}`);
  return { Bucket: m[1]!, Key: m[2]! };
};

export async function startS3(): Promise<S3Server> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const lib = (await import(join(ROOT, 'scripts', 'lib', 's3rver.mjs'))) as {
    startS3rver(o: { directory: string; buckets: string[] }): Promise<{ url: string; port: number; close(): Promise<void> }>;
  };
  const server = await lib.startS3rver({ directory: tempDir('s3rver-'), buckets: BUCKETS });
  const { url, port } = server;
  const client = new S3Client({ region: 'us-east-1', endpoint: url, forcePathStyle: true, credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_SECRET } });
  return {
    url,
    port,
    client,
    async keys(bucket, prefix) {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const r = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of r.Contents ?? []) out.push(o.Key!);
        token = r.NextContinuationToken;
      } while (token !== undefined);
      return out;
    },
    async get(uri) {
      const r = await client.send(new GetObjectCommand(split(uri)));
      return { body: Buffer.from(await r.Body!.transformToByteArray()), contentType: r.ContentType };
    },
    async exists(uri) {
      try {
        await client.send(new HeadObjectCommand(split(uri)));
        return true;
      } catch {
        return false;
      }
    },
    async put(uri, body, contentType) {
      await client.send(new PutObjectCommand({ ...split(uri), Body: body, ...(contentType ? { ContentType: contentType } : {}) }));
    },
    async close() {
      client.destroy();
      await server.close();
    },
  };
}
