// A run's --async side: the journal next to the outfile, the S3 client over the run's network,
// credentials and region, what the pipeline gets, and the end of the run (the journal removed when
// nothing is pending, or how to collect what is).
import fs from 'node:fs';
import { loadSharedConfigFiles } from '@smithy/core/config';
import { UsageError } from '../errors.js';
import { ASYNC_FIELD_BY_KEY } from '../core/async/fields.js';
import type { AsyncSetup } from '../core/async/setup.js';
import type { Summary } from '../core/summary.js';
import { resolveS3Settings } from '../aws/s3-config.js';
import { createS3Store, type ObjectStore } from '../aws/s3.js';
import { createSdkRequestHandler } from '../http/sdk-http.js';
import { createTransport } from '../http/transport.js';
import type { Options } from './args.js';
import type { AwsSetup } from './aws-setup.js';
import { openJournal, type JournalFile } from './async-journal.js';
import type { Io } from './io.js';
import type { Stderr } from './stderr.js';

export { ASYNC_FIELD_BY_KEY };

export interface AsyncRun {
  setup: AsyncSetup;
  journal: JournalFile;
  store: ObjectStore;
  close(): void;
}

/** Where the journal goes: next to the outfile, or to the file stdout was redirected to. */
function journalBase(outPath: string | undefined, io: Io): string {
  if (outPath !== undefined) return outPath;
  try {
    if (fs.fstatSync(1).isFile()) return fs.readlinkSync('/proc/self/fd/1');
  } catch {
    // not Linux, or stdout is gone: fall through
  }
  void io;
  throw new UsageError(
    '--async keeps a journal next to the results (so that a stopped run never submits a record twice): give an outfile, or redirect stdout to a file',
  );
}

export async function setupAsync(opts: Options, io: Io, outPath: string | undefined, aws: AwsSetup, stderr: Stderr): Promise<AsyncRun | undefined> {
  const a = opts.async;
  if (a === undefined) return undefined;
  const base = journalBase(outPath, io);
  const profileName = opts.profile ?? (io.env.AWS_PROFILE || 'default');
  const files = await loadSharedConfigFiles({
    ignoreCache: true,
    ...(io.env.AWS_CONFIG_FILE ? { configFilepath: io.env.AWS_CONFIG_FILE } : {}),
    ...(io.env.AWS_SHARED_CREDENTIALS_FILE ? { filepath: io.env.AWS_SHARED_CREDENTIALS_FILE } : {}),
  });
  const settings = resolveS3Settings(
    { endpointUrl: a.s3EndpointUrl, pathStyle: a.s3PathStyle, profileName, profile: files.configFile[profileName] ?? {}, configFile: files.configFile },
    io.env,
  );
  if (opts.debug) {
    stderr.say(
      `debug: S3 requests go to ${settings.endpointUrl ?? 'the regional endpoint'} (from ${settings.endpointSource}); addressing ${settings.forcePathStyle ? 'path-style' : 'virtual-hosted'} (${settings.pathStyleSource})`,
    );
  }
  const journal = openJournal(base, opts.resume || opts.resumeFailed, io.now(), Math.random);
  const credentials = aws.credentials;
  if (credentials === undefined) throw new UsageError('--async needs credentials');
  const transport = createTransport(Math.max(16, opts.concurrency), aws.network.transport);
  const store = await createS3Store({
    settings,
    region: aws.target.signingRegion,
    credentials: () => credentials(),
    requestHandler: createSdkRequestHandler(transport.send, { connectTimeoutMs: opts.connectTimeoutMs, timeoutMs: 60_000 }) as never,
    maxAttempts: 3,
  });
  return {
    setup: { opts: a, store, journal },
    journal,
    store,
    close() {
      journal.close();
      store.close();
      transport.close();
    },
  };
}

/** The end of an async run: the journal removed when nothing is pending; else how to collect. */
export function finishAsync(run: AsyncRun, summary: Summary, outPath: string | undefined, stderr: Stderr): void {
  const pending = run.journal.open();
  const uncollected = run.journal.earlier > 0 || pending > 0;
  run.close();
  const complete = summary.stoppedBy === undefined && summary.fatal === undefined;
  if (complete && pending === 0) {
    run.journal.remove();
    return;
  }
  if (pending === 0 && !uncollected) return;
  const out = outPath ?? run.journal.path.replace(/\.async-journal$/, '');
  stderr.say(`async: ${pending} record(s) submitted and not yet collected are in the journal ${run.journal.path}`);
  stderr.say(`  to collect them (nothing is submitted twice), run the same command with --resume ${out}`);
}
