// Where results go: stdout, an outfile, or (--resume-failed) an outfile rewritten through a
// temporary file; with --resume, what the outfile already answers. The file-safety rules
// (output-files.ts) are applied before anything is opened for writing; a failed write is recorded
// here and stops the run.
import fs from 'node:fs';
import type { Writable } from 'node:stream';
import { UsageError } from '../errors.js';
import { readLines } from '../core/lines.js';
import type { ResumeInput } from '../core/source.js';
import type { Options } from './args.js';
import type { Io } from './io.js';
import * as files from './output-files.js';
import { readFormatLine, type OutputFormat } from '../core/formats/batch-output.js';
import { dropTornLine, scanOutfile, type OutfileState } from './resume-file.js';
import type { Stderr } from './stderr.js';
import { BatchWriter } from './writer.js';

/** The checks made before anything else: nothing is sent or written when one fails (exit 2). */
export interface FileChecks {
  outPath: string | undefined;
  /** --stats-json, opened (not truncated) so that an unwritable one is found now. */
  statsFd: number | undefined;
  stdinIsTerminal: boolean;
}

export function checkFiles(opts: Options, io: Io, single: boolean): FileChecks {
  const stdinIsTerminal = single ? false : checkStdin(io);
  const input = io.stdinFd === 0 ? files.stdinFile() : undefined;
  const outPath = opts.outfile !== undefined && opts.outfile !== '-' ? opts.outfile : undefined;
  if (outPath !== undefined) files.checkNotInput(outPath, 'outfile', input);
  let statsFd: number | undefined;
  if (opts.statsJson !== undefined) {
    files.checkNotInput(opts.statsJson, '--stats-json file', input);
    if (outPath !== undefined && files.realTarget(outPath) === files.realTarget(opts.statsJson)) {
      throw new UsageError(`--stats-json ${opts.statsJson} is the outfile: give them different names`);
    }
    try {
      statsFd = fs.openSync(opts.statsJson, 'a');
    } catch (err) {
      throw new UsageError(`cannot write --stats-json ${opts.statsJson}: ${(err as Error).message}`);
    }
  }
  if (!single && outPath !== undefined) {
    files.checkOverwrite(outPath, { resume: opts.resume, resumeFailed: opts.resumeFailed, force: opts.force });
    const st = files.statOrUndefined(outPath);
    if (st === undefined || st.isFile()) {
      const lock = files.OutfileLock.acquire(outPath);
      io.atExit(() => lock.release());
    }
  }
  return { outPath, statsFd, stdinIsTerminal };
}

/**
 * stdin must be something records can be read from: a directory (`< dir`) or a closed descriptor is
 * a usage error, not "0 records". Returns whether it is a terminal (records typed by hand).
 */
function checkStdin(io: Io): boolean {
  if (io.stdinFd !== 0) return false;
  let st: fs.Stats;
  try {
    st = fs.fstatSync(0);
  } catch (err) {
    throw new UsageError(`cannot read standard input: ${(err as Error).message}`);
  }
  if (st.isDirectory()) throw new UsageError('standard input is a directory: give the records as a file (sm-invoke ... < FILE) or a pipe');
  return io.stdin.isTTY === true;
}

export class OutputTarget {
  readonly writer: BatchWriter;
  /** The file results go to, or "standard output", for messages. */
  readonly name: string;
  /** The reader of stdout went away (EPIPE): the run stops quietly. */
  readerGone = false;
  /** A failed write of results (a full disk, an I/O error): the run stops as for a fatal error. */
  writeError: NodeJS.ErrnoException | undefined;
  /** Called on the first write failure (the run stops at once). */
  onFailure: () => void = () => undefined;

  private constructor(
    readonly stream: Writable,
    readonly outPath: string | undefined,
    /** --resume / --resume-failed: what the outfile already answers. */
    readonly resume: ResumeInput | undefined,
    /** --resume: failed records among those answered before (the exit status counts them). */
    readonly failedBefore: number,
    private readonly replacement: ReturnType<typeof files.createReplacement> | undefined,
    /** --resume: a torn last line, dropped just before the first write (a different input is found out before). */
    private tornLine: OutfileState | undefined,
    private readonly toStdout: boolean,
  ) {
    this.writer = new BatchWriter(stream);
    this.name = outPath ?? 'standard output';
    stream.on('error', (err: NodeJS.ErrnoException) => this.failed(err));
  }

  /** Opens stdout or the outfile; with --resume/--resume-failed, reads what the outfile answers. */
  static async open(opts: Options, io: Io, outPath: string | undefined, single: boolean, stderr: Stderr): Promise<OutputTarget> {
    if (single || outPath === undefined) return new OutputTarget(io.stdout, undefined, undefined, 0, undefined, undefined, true);
    const state = opts.resume || opts.resumeFailed ? await scanOutfile(outPath, opts.output === 'body', batchFormat(opts.output)) : undefined;
    if (state === undefined || state.records === 0) {
      if (state !== undefined && state.tornBytes > 0) await dropTornLine(outPath, state);
      return new OutputTarget(await openFile(outPath, 'w'), outPath, undefined, 0, undefined, undefined, false);
    }
    const torn = state.tornBytes > 0 ? ` (dropping a torn last line of ${state.tornBytes} bytes)` : '';
    // --output body lines are response bodies: whatever keys they have say nothing about the input.
    const format = batchFormat(opts.output);
    const resume: ResumeInput =
      opts.output === 'result'
        ? {
            records: state.records,
            lastLine: state.lastLine,
            lastInferenceId: state.lastInferenceId,
            lastMeta: state.lastMeta,
            lastRecordId: state.lastRecordId,
          }
        : format !== undefined
          ? { records: state.records, lastRecordId: state.lastRecordId, isOk: (line) => readFormatLine(format, line)?.ok === true }
          : { records: state.records };
    if (opts.resumeFailed) {
      const replacement = files.createReplacement(outPath);
      const old = fs.createReadStream(outPath, { end: state.completeBytes - 1 });
      resume.previous = utf8Lines(readLines(old, Number.MAX_SAFE_INTEGER));
      stderr.say(`resuming ${outPath}: ${state.failed} of its ${state.records} results failed and are sent again, with any records after them${torn}`);
      const stream = fs.createWriteStream('', { fd: replacement.fd, autoClose: false });
      return new OutputTarget(stream, outPath, resume, 0, replacement, undefined, false);
    }
    stderr.say(`resuming ${outPath}: ${state.records} records already answered${torn}`);
    return new OutputTarget(await openFile(outPath, 'a'), outPath, resume, state.failed, undefined, state.tornBytes > 0 ? state : undefined, false);
  }

  get isStdout(): boolean {
    return this.toStdout;
  }

  /** Queues a line (or a line in pieces); a promise when the destination is full. */
  write(text: string | readonly (string | Buffer)[]): Promise<void> | undefined {
    this.dropTornLine();
    return typeof text === 'string' ? this.writer.write(text) : this.writer.writeParts(text);
  }

  dropTornLine(): void {
    if (this.tornLine === undefined) return;
    fs.truncateSync(this.outPath!, this.tornLine.completeBytes);
    this.tornLine = undefined;
  }

  failed(err: NodeJS.ErrnoException): void {
    this.writer.discard();
    // EPIPE: the reader has gone (`| head`): stop quietly. Anything else is a failure.
    if (err.code === 'EPIPE' && this.toStdout) this.readerGone = true;
    else this.writeError ??= err;
    this.onFailure();
  }

  /** The input turned out to be another one (--resume): the temporary file goes, the outfile is untouched. */
  abandon(): void {
    if (this.replacement === undefined) return;
    this.stream.destroy();
    this.replacement.discard();
  }

  /**
   * Results still queued go out (a stuck reader is waited for only until `deadline`); --resume-failed's
   * temporary file replaces the outfile once it holds at least as many answers, all on disk.
   */
  async finish(written: number, deadline: number | undefined, now: () => number): Promise<void> {
    const ending = this.writer.end(!this.toStdout);
    if (deadline !== undefined) await Promise.race([ending, new Promise((r) => setTimeout(r, Math.max(0, deadline - now())).unref())]);
    else await ending;
    if (!this.readerGone && this.writeError === undefined && this.writer.error !== undefined) this.failed(this.writer.error);
    if (this.replacement === undefined) return;
    let commit = this.writeError === undefined && written >= (this.resume?.records ?? 0);
    if (commit) {
      try {
        fs.fsyncSync(this.replacement.fd);
      } catch (err) {
        this.failed(err as NodeJS.ErrnoException);
        commit = false;
      }
    }
    fs.closeSync(this.replacement.fd);
    if (commit) this.replacement.commit();
    else this.replacement.discard();
  }

  /** Whether a failed --resume-failed left the original outfile as it was. */
  get keptOriginal(): boolean {
    return this.replacement !== undefined;
  }
}

function openFile(path: string, flags: 'w' | 'a'): Promise<Writable> {
  const out = fs.createWriteStream(path, { flags });
  return new Promise((resolve, reject) => {
    out.once('open', () => resolve(out));
    out.once('error', (err) => reject(new UsageError(`cannot write ${path}: ${(err as Error).message}`)));
  });
}

/** readLines gives latin1 (byte) strings; earlier result lines are UTF-8 text. */
async function* utf8Lines(lines: AsyncIterable<unknown>): AsyncGenerator<string> {
  for await (const l of lines) yield Buffer.from(l as string, 'latin1').toString('utf8');
}

/** The batch service whose output lines the run writes, if any. */
function batchFormat(output: Options['output']): OutputFormat | undefined {
  return output === 'openai-batch' || output === 'bedrock-batch' ? output : undefined;
}
