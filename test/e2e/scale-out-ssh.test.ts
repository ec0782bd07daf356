// docs/scale-out.md's "GNU parallel over ssh" example, run for real: a real sshd on 127.0.0.1
// standing for two hosts (two ports), keys made here, the documented `parallel --sshlogin ...
// shard.sh {} N ::: ... && merge.sh N` line with 2 shards per host, the input streamed from S3
// (s3rver) into each shard, the outfiles uploaded and merged: equal to one unsharded run.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { BINARY, ROOT, runCli, scrubbedEnv, tempDir } from '../helpers/cli.js';
import { awsWithS3Endpoint, startLocalS3, type LocalS3 } from '../helpers/s3-local.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { bash, stableLines, type ShellRun } from '../helpers/shell.js';

let emu: Emulator;
let s3: LocalS3;
let sshd: Sshd;
let dir: string;
let env: Record<string, string>;

/** 302 lines: 300 records and two blank lines. */
function input(): string {
  const lines: string[] = [];
  for (let i = 1; i <= 302; i++) lines.push(i === 7 || i === 150 ? '' : JSON.stringify({ i, prompt: `question ${i}` }));
  return lines.join('\n') + '\n';
}

const stable = stableLines;

function sh(script: string, cwd: string, extra: Record<string, string> = {}): Promise<ShellRun> {
  return bash(script, cwd, { ...env, ...extra });
}

before(async () => {
  dir = tempDir('sm-invoke-ssh-test-');
  emu = await startEmulator({ endpoints: { 'my-endpoint': {} } });
  s3 = await startLocalS3(['my-bucket']);
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(BINARY, join(bin, 'sm-invoke'));
  awsWithS3Endpoint(bin);
  mkdirSync(join(dir, 'remote-tmp'));
  mkdirSync(join(dir, 'remote-home'));
  // This machine's shell and the "hosts" get the same tools and AWS settings; the hosts get theirs
  // from sshd (a host's own configuration), not from the ssh command.
  const aws = scrubbedEnv({
    PATH: `${bin}:${join(ROOT, 'docs', 'scale-out')}:/usr/local/bin:/usr/bin:/bin`,
    AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: emu.url,
    AWS_ENDPOINT_URL_S3: s3.url,
  });
  sshd = await startSshd({
    ...aws,
    HOME: join(dir, 'remote-home'),
    TMPDIR: join(dir, 'remote-tmp'),
  });
  env = { ...aws, PARALLEL_SSH: `ssh -F ${sshd.sshConfig}`, PARALLEL_HOME: join(dir, 'parallel-home') };
  writeFileSync(join(dir, 'input.ndjson'), input());
  const up = await sh('aws s3 cp --only-show-errors input.ndjson s3://my-bucket/jobs/ssh/input.ndjson', dir);
  assert.equal(up.status, 0, up.stderr);
});

after(async () => {
  await sshd?.stop();
  await s3?.close();
  await emu?.close();
});

describe('GNU parallel --sshlogin over a real sshd', () => {
  test('the documented line, 2 shards on each of 2 hosts, merged: equal to one run', async () => {
    // What a remote command gets: the host's PATH and settings, no metadata service, only 127.0.0.1.
    for (const host of sshd.hosts) {
      const r = await sh(
        `ssh -F "${sshd.sshConfig}" ${host} 'command -v sm-invoke shard.sh aws; echo "$AWS_EC2_METADATA_DISABLED $AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"'`,
        dir,
      );
      assert.equal(r.status, 0, r.stderr + sshd.logs());
      assert.match(r.stdout, /\/sm-invoke\n.*\/shard\.sh\n.*\/aws\ntrue http:\/\/127\.0\.0\.1:\d+\n$/, r.stdout);
    }
    // docs/scale-out.md, "GNU parallel over ssh", with this test's hosts and 2 shards per host.
    const r = await sh(
      [
        'export IN=s3://my-bucket/jobs/ssh/input.ndjson OUT=s3://my-bucket/jobs/ssh/out \\',
        '  RESULT=s3://my-bucket/jobs/ssh/results.ndjson ENDPOINT=my-endpoint',
        'parallel --sshlogin 2/worker1,2/worker2 --env IN --env OUT --env ENDPOINT \\',
        '  --retries 3 --line-buffer --tag shard.sh {} 4 ::: $(seq 0 3) && docs/scale-out/merge.sh 4',
      ].join('\n'),
      ROOT,
    );
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}\n${sshd.logs()}`);
    assert.match(r.stderr, /merged 4 shards: 300 results -> s3:\/\/my-bucket\/jobs\/ssh\/results\.ndjson/);
    // Both hosts ran shards (the sessions came in on both ports).
    const ports = new Set([...sshd.logs().matchAll(/Connection from 127\.0\.0\.1 port \d+ on 127\.0\.0\.1 port (\d+)/g)].map((m) => m[1]));
    assert.equal(ports.size, 2, sshd.logs());
    const got = await sh('aws s3 cp --only-show-errors s3://my-bucket/jobs/ssh/results.ndjson merged.ndjson', dir);
    assert.equal(got.status, 0, got.stderr);
    const one = await runCli(['--endpoint-name', 'my-endpoint', '--concurrency', 'auto', join(dir, 'single.ndjson')], { command: BINARY, env, input: input() });
    assert.equal(one.code, 0, one.stderr);
    const merged = stable(readFileSync(join(dir, 'merged.ndjson'), 'utf8'));
    assert.equal(merged.length, 300);
    assert.deepEqual(merged, stable(readFileSync(join(dir, 'single.ndjson'), 'utf8')));
    // The shards cleaned up after themselves on the hosts.
    assert.deepEqual(readdirSync(join(dir, 'remote-tmp')), []);
  });

  test('merge.sh names a shard that never uploaded or did not complete; shard.sh fails when its input cannot be read', async () => {
    // The line above uploaded 4 shards: a merge of 5 is missing shard 4, and uploads nothing.
    const m = await sh('OUT=s3://my-bucket/jobs/ssh/out RESULT=s3://my-bucket/jobs/ssh/five.ndjson merge.sh 5', dir);
    assert.equal(m.status, 1, m.stderr);
    assert.match(m.stderr, /merge\.sh: s3:\/\/my-bucket\/jobs\/ssh\/out\/out\.4\.ndjson is missing: shard 4\/5 has not uploaded its results/);
    // A shard that was stopped (its sidecar not complete) has uploaded part of its results only:
    // sm-invoke merge refuses it (unless --partial), and so does merge.sh, before downloading more.
    const part = join(dir, 'partial');
    const down = await sh(`aws s3 cp --only-show-errors --recursive s3://my-bucket/jobs/ssh/out/ ${part}/`, dir);
    assert.equal(down.status, 0, down.stderr);
    const side = JSON.parse(readFileSync(join(part, 'out.2.ndjson.shard.json'), 'utf8'));
    delete side.complete;
    writeFileSync(join(part, 'out.2.ndjson.shard.json'), `${JSON.stringify(side)}\n`);
    writeFileSync(join(part, 'out.2.ndjson'), readFileSync(join(part, 'out.2.ndjson'), 'utf8').split('\n').slice(0, 10).join('\n') + '\n');
    const plain = await runCli(['merge', 'out.0.ndjson', 'out.1.ndjson', 'out.2.ndjson', 'out.3.ndjson'], { command: BINARY, env, cwd: part });
    assert.equal(plain.code, 1, plain.stderr);
    assert.match(plain.stderr, /out\.2\.ndjson \(shard 2\/4\) is incomplete/);
    const upPart = await sh(`aws s3 cp --only-show-errors --recursive ${part}/ s3://my-bucket/jobs/ssh/partial/`, dir);
    assert.equal(upPart.status, 0, upPart.stderr);
    const p = await sh('OUT=s3://my-bucket/jobs/ssh/partial RESULT=s3://my-bucket/jobs/ssh/partial.ndjson merge.sh 4', dir);
    assert.equal(p.status, 1, p.stderr);
    assert.match(
      p.stderr,
      /merge\.sh: shard 2\/4 has not completed \(out\.2\.ndjson\.shard\.json has no "complete"\): it is still running, or it stopped and must be run again/,
    );
    // Neither refused merge uploaded anything.
    const none = await sh('aws s3 ls s3://my-bucket/jobs/ssh/', dir);
    assert.doesNotMatch(none.stdout, /five\.ndjson|partial\.ndjson/);
    // An input that cannot be downloaded is not an empty input: the shard fails, to be run again.
    const r = await sh('IN=s3://my-bucket/jobs/ssh/no-such-input.ndjson OUT=s3://my-bucket/jobs/ssh/broken ENDPOINT=my-endpoint shard.sh 0 4', dir, {
      TMPDIR: join(dir, 'remote-tmp'),
    });
    assert.notEqual(r.status, 0, r.stderr);
    assert.match(r.stderr, /shard 0\/4: reading s3:\/\/my-bucket\/jobs\/ssh\/no-such-input\.ndjson failed \(exit \d+\): the shard is to be run again/);
    assert.deepEqual(readdirSync(join(dir, 'remote-tmp')), []);
  });
});
