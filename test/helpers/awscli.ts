// Runs the real AWS CLI (Debian package `awscli`, /usr/bin/aws) with a
// scrubbed environment, for conformance tests against the emulator. Another
// `aws` on PATH is a different install: always use /usr/bin/aws.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const AWS_CLI = '/usr/bin/aws';
export const EXAMPLE_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
export const EXAMPLE_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

export const awsCliAvailable = (): boolean => existsSync(AWS_CLI);
/** Why the AWS CLI tests cannot run here (they then fail: tools.ts), or undefined. */
export const NO_AWS_CLI = awsCliAvailable() ? undefined : `${AWS_CLI} is not installed (Debian package awscli)`;

export interface AwsCliResult {
  /** Exit code (254: service error, 252: usage, 253: config, 255: other). */
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `/usr/bin/aws ...args` asynchronously (an in-process emulator keeps
 * serving). The environment holds only: PATH, a fresh temp HOME, empty config
 * and credentials files, the example keys, AWS_DEFAULT_REGION=us-east-1,
 * AWS_EC2_METADATA_DISABLED=true and AWS_PAGER=''. `env` entries override
 * these; an `undefined` value removes one. `cwd`: where it runs (default: this process's).
 */
export async function runAwsCli(args: readonly string[], env: Record<string, string | undefined> = {}, cwd?: string): Promise<AwsCliResult> {
  const home = await mkdtemp(join(tmpdir(), 'awscli-home-'));
  try {
    const merged: Record<string, string | undefined> = {
      PATH: '/usr/bin:/bin',
      HOME: home,
      LANG: 'C.UTF-8',
      AWS_CONFIG_FILE: join(home, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
      AWS_ACCESS_KEY_ID: EXAMPLE_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: EXAMPLE_SECRET_ACCESS_KEY,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_PAGER: '',
      ...env,
    };
    const clean = Object.fromEntries(Object.entries(merged).filter((e): e is [string, string] => e[1] !== undefined));
    return await new Promise((resolve, reject) => {
      execFile(AWS_CLI, args, { env: clean, ...(cwd !== undefined ? { cwd } : {}), maxBuffer: 64 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') return reject(err);
        resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
      });
    });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

export interface InvokeEndpointInput {
  endpointUrl: string;
  endpointName: string;
  body: string | Buffer;
  contentType?: string;
  accept?: string;
  customAttributes?: string;
  targetModel?: string;
  targetVariant?: string;
  targetContainerHostname?: string;
  inferenceId?: string;
  enableExplanations?: string;
}

export interface InvokeEndpointResult extends AwsCliResult {
  /** The response body the CLI wrote to its outfile (undefined on error). */
  output: Buffer | undefined;
}

/**
 * `aws sagemaker-runtime invoke-endpoint` with the body sent as raw bytes
 * (fileb://). This CLI (2.9.x) has no --session-id or --inference-component-name.
 */
export async function invokeWithAwsCli(input: InvokeEndpointInput, env: Record<string, string | undefined> = {}): Promise<InvokeEndpointResult> {
  const dir = await mkdtemp(join(tmpdir(), 'awscli-io-'));
  try {
    const bodyFile = join(dir, 'body.bin');
    const outFile = join(dir, 'out.bin');
    await writeFile(bodyFile, input.body);
    const args = [
      'sagemaker-runtime',
      'invoke-endpoint',
      '--endpoint-url',
      input.endpointUrl,
      '--endpoint-name',
      input.endpointName,
      '--body',
      `fileb://${bodyFile}`,
    ];
    const opt = (flag: string, v: string | undefined): void => {
      if (v !== undefined) args.push(flag, v);
    };
    opt('--content-type', input.contentType);
    opt('--accept', input.accept);
    opt('--custom-attributes', input.customAttributes);
    opt('--target-model', input.targetModel);
    opt('--target-variant', input.targetVariant);
    opt('--target-container-hostname', input.targetContainerHostname);
    opt('--inference-id', input.inferenceId);
    opt('--enable-explanations', input.enableExplanations);
    args.push(outFile);
    const result = await runAwsCli(args, env);
    const output = await readFile(outFile).catch(() => undefined);
    return { ...result, output };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
