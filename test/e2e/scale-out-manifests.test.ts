// docs/scale-out's Kubernetes and AWS Batch files, checked as far as a machine without those
// services can: the Kubernetes manifests against the API's JSON schemas (kubernetes-models, which
// bundles them) and against what the Slurm and ssh runs taught (one N everywhere, the shard script
// as PID 1 so that it gets SIGTERM, the same OUT for shards and merge); the Batch job definition
// and the documented `aws batch` commands run by the real AWS CLI, which checks every parameter
// against the service's model, against a server on 127.0.0.1 that records what it was sent.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { parseAllDocuments } from 'yaml';
import { ROOT, scrubbedEnv, tempDir } from '../helpers/cli.js';
import { awsWithS3Endpoint } from '../helpers/s3-local.js';

const DIR = join(ROOT, 'docs', 'scale-out');
const DOC = readFileSync(join(ROOT, 'docs', 'scale-out.md'), 'utf8');

/** The first ```sh block after the heading `heading` in docs/scale-out.md. */
function docBlock(heading: string): string {
  const at = DOC.indexOf(`\n${heading}\n`);
  assert.ok(at >= 0, heading);
  const m = /```sh\n([\s\S]*?)```/.exec(DOC.slice(at));
  assert.ok(m, `no sh block under ${heading}`);
  return m[1]!;
}

type Obj = Record<string, any>;
const yamlDocs = (file: string): Obj[] => parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((d) => d.toJS() as Obj);
const envOf = (container: Obj): Record<string, string> => Object.fromEntries((container.env as Obj[]).map((e) => [e.name, e.value]));

describe('Kubernetes manifests', () => {
  const [account, shards] = yamlDocs('k8s-indexed-job.yaml');
  const [merge] = yamlDocs('k8s-merge-job.yaml');

  test('valid against the Kubernetes API schemas', () => {
    assert.equal(account?.kind, 'ServiceAccount');
    new ServiceAccount(account as any).validate();
    for (const job of [shards, merge]) {
      assert.equal(job?.kind, 'Job');
      new Job(job as any).validate();
    }
    // The schemas are checked for real: a wrong type is refused.
    const bad = structuredClone(shards!);
    bad.spec.completions = '8';
    assert.throws(() => new Job(bad as any).validate(), /completions must be integer/);
  });

  test('one number of shards, the shard script as PID 1, the same OUT for shards and merge', () => {
    const spec = shards!.spec;
    assert.equal(spec.completionMode, 'Indexed');
    const pod = spec.template.spec;
    assert.equal(pod.restartPolicy, 'Never'); // backoffLimitPerIndex requires it
    assert.equal(pod.serviceAccountName, account!.metadata.name);
    assert.ok(pod.terminationGracePeriodSeconds === undefined || pod.terminationGracePeriodSeconds >= 30);
    const [c] = pod.containers as Obj[];
    // `exec`: shard.sh replaces sh as PID 1, the process the kubelet sends SIGTERM to (its trap uploads what it has).
    assert.deepEqual(c!.command, ['sh', '-c', `exec shard.sh "$JOB_COMPLETION_INDEX" ${spec.completions}`]);
    const e = envOf(c!);
    for (const name of ['IN', 'OUT', 'ENDPOINT', 'AWS_REGION']) assert.ok(e[name], name);
    const mpod = merge!.spec.template.spec;
    assert.equal(mpod.serviceAccountName, account!.metadata.name);
    const [m] = mpod.containers as Obj[];
    assert.deepEqual(m!.command, ['merge.sh', String(spec.completions)]);
    assert.equal(m!.image, c!.image);
    const me = envOf(m!);
    assert.equal(me.OUT, e.OUT);
    assert.ok(me.RESULT && me.AWS_REGION);
  });
});

describe('AWS Batch job definition and the documented commands', () => {
  test('the real AWS CLI accepts them, and sends what the docs say', async () => {
    const requests: Array<{ path: string; body: Obj }> = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const parsed = JSON.parse(body || '{}') as Obj;
        requests.push({ path: req.url ?? '', body: parsed });
        res.setHeader('content-type', 'application/json');
        if (req.url === '/v1/registerjobdefinition') {
          res.end(
            JSON.stringify({
              jobDefinitionName: parsed.jobDefinitionName,
              jobDefinitionArn: `arn:aws:batch:us-east-1:123456789012:job-definition/${parsed.jobDefinitionName}:1`,
              revision: 1,
            }),
          );
        } else if (req.url === '/v1/submitjob') {
          const id = `0000000${requests.length}-aaaa-bbbb-cccc-dddddddddddd`;
          res.end(JSON.stringify({ jobArn: `arn:aws:batch:us-east-1:123456789012:job/${id}`, jobName: parsed.jobName, jobId: id }));
        } else {
          res.statusCode = 400;
          res.end(JSON.stringify({ message: `unexpected ${req.url}` }));
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const dir = tempDir('sm-invoke-batch-');
      mkdirSync(join(dir, 'bin'));
      awsWithS3Endpoint(join(dir, 'bin'));
      const env = scrubbedEnv({
        PATH: `${join(dir, 'bin')}:/usr/bin:/bin`,
        AWS_ENDPOINT_URL_BATCH: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        AWS_PAGER: '',
      });
      const r = await new Promise<{ status: number | null; stderr: string }>((resolve, reject) => {
        const child = spawn('bash', ['-euo', 'pipefail', '-c', docBlock('### AWS Batch array job')], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        child.on('error', reject);
        child.on('close', (status) => resolve({ status, stderr }));
      });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(
        requests.map((q) => q.path),
        ['/v1/registerjobdefinition', '/v1/submitjob', '/v1/submitjob'],
      );
      const def = JSON.parse(readFileSync(join(DIR, 'batch-array-job.json'), 'utf8')) as Obj;
      // Every field of the file is one the CLI knows and sent as written.
      assert.deepEqual(requests[0]!.body, def);
      const shardsEnv = Object.fromEntries((def.containerProperties.environment as Obj[]).map((e) => [e.name, e.value]));
      const [, array, mergeJob] = requests.map((q) => q.body);
      assert.equal(array!.jobDefinition, def.jobDefinitionName);
      assert.deepEqual(array!.arrayProperties, { size: Number(shardsEnv.SHARDS) });
      // The merge depends on the array job whose id the first submit printed (--query jobId --output text).
      assert.deepEqual(mergeJob!.dependsOn, [{ jobId: '00000002-aaaa-bbbb-cccc-dddddddddddd' }]);
      assert.deepEqual(mergeJob!.containerOverrides.command, ['merge.sh', shardsEnv.SHARDS]);
      assert.ok((mergeJob!.containerOverrides.environment as Obj[]).some((e) => e.name === 'RESULT' && /^s3:\/\//.test(e.value)));
      // The shard's command runs shard.sh as PID 1 (exec), with the array index and SHARDS.
      assert.deepEqual(def.containerProperties.command, ['sh', '-c', 'exec shard.sh "$AWS_BATCH_JOB_ARRAY_INDEX" "$SHARDS"']);
      assert.ok(shardsEnv.IN && shardsEnv.OUT && shardsEnv.ENDPOINT);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
