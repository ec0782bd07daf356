// A real S3-compatible server on 127.0.0.1 for the scale-out scripts' `aws s3 cp`: s3rver (a
// devDependency), run in the test's process on a free port, its objects in a temp dir. The AWS CLI
// reaches it by its address (path-style requests), with the AWS documentation's example key, which
// s3rver is told to accept (it checks the signatures).
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY, tempDir } from './cli.js';

interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

export interface LocalS3 {
  /** http://127.0.0.1:PORT, for AWS_ENDPOINT_URL_S3. */
  url: string;
  close(): Promise<void>;
}

export async function startLocalS3(buckets: string[]): Promise<LocalS3> {
  const require = createRequire(import.meta.url);
  const S3rver = require('s3rver') as S3rverClass;
  const account = require('s3rver/lib/models/account.js') as { DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void } };
  account.DUMMY_ACCOUNT.createKeyPair(ACCESS_KEY_ID, SECRET_ACCESS_KEY);
  const directory = tempDir('sm-invoke-s3-');
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    vhostBuckets: false,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port } = await server.run();
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/**
 * Writes DIR/aws: Debian's AWS CLI (2.9) predates AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL_BATCH
 * (CLI 2.13 and 1.29 read them themselves), so this passes them on as --endpoint-url to
 * /usr/bin/aws for `aws s3 ...` and `aws batch ...`. Put DIR first on PATH.
 */
export function awsWithS3Endpoint(dir: string): void {
  const file = join(dir, 'aws');
  writeFileSync(
    file,
    [
      '#!/bin/sh',
      'case "$1" in',
      '  s3) exec /usr/bin/aws --endpoint-url "$AWS_ENDPOINT_URL_S3" "$@" ;;',
      '  batch) exec /usr/bin/aws --endpoint-url "$AWS_ENDPOINT_URL_BATCH" "$@" ;;',
      'esac',
      'exec /usr/bin/aws "$@"',
      '',
    ].join('\n'),
  );
  chmodSync(file, 0o755);
}
