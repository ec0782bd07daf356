// Where results go: stdout, an outfile, or (--resume-failed) an outfile rewritten through a
// temporary file; with --resume, what the outfile already answers. The file-safety rules
// (output-files.ts) are applied before anything is opened for writing; a failed write is recorded
// here and stops the run.
import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { UsageError } from '../errors.js';
import { readLines } from '../core/lines.js';
import type { ResumeInput } from '../core/source.js';
import type { Options } from './args.js';
import type { Io } from './io.js';
import * as files from './output-files.js';
import { DigestLog, checkFormat, readDigestHeader } from './digest-file.js';
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

export function checkFiles(
  opts: Options,
  io: Io,
  single: boolean,
  inputFile?: files.InputIdentity & { path: string },
  stderr?: (line: string) => void,
): FileChecks {
  const stdinIsTerminal = single || inputFile !== undefined ? false : checkStdin(io);
  const stdinStat = io.stdinFd === 0 ? files.stdinFile() : undefined;
  const input: files.InputIdentity | undefined = inputFile ?? (stdinStat ? { stat: stdinStat, name: 'the file being read as standard input' } : undefined);
  const outPath = opts.outfile !== undefined && opts.outfile !== '-' ? opts.outfile : undefined;
  if (outPath !== undefined) files.checkNotInput(outPath, 'outfile', input);
  let statsFd: number | undefined;
  if (opts.statsJson !== undefined) {
    files.checkNotInput(opts.statsJson, '--stats-json file', input);
    if (outPath !== undefined && isSameFile(outPath, opts.statsJson)) {
      throw new UsageError(`--stats-json ${opts.statsJson} is the outfile: give them different names`);
    }
    try {
      statsFd = fs.openSync(opts.statsJson, 'a');
    } catch (err) {
      throw new UsageError(`cannot write --stats-json ${opts.statsJson}: ${(err as Error).message}`);
    }
  }
  if (!single && outPath !== undefined) {
    files.checkOverwrite(outPath, { resume: opts.resume, resumeFailed: opts.resumeFailed, force: opts.force, forceAny: opts.forceAny }, hasDigestFile);
    const st = files.statOrUndefined(outPath);
    if (st === undefined || st.isFile()) {
      const lock = files.OutfileLock.acquire(outPath);
      io.atExit(() => lock.release());
      for (const p of files.removeStaleTemporaries(outPath)) stderr?.(`removed ${p}, a temporary file left by a --resume-failed run that was stopped`);
    }
  }
  if (single && outPath !== undefined) checkSingleOutfile(outPath);
  return { outPath, statsFd, stdinIsTerminal };
}

/** The same file through any names: one real path, or (both there) one device and inode (hard links). */
function isSameFile(a: string, b: string): boolean {
  if (files.realTarget(a) === files.realTarget(b)) return true;
  const sa = files.statOrUndefined(a);
  const sb = files.statOrUndefined(b);
  return sa !== undefined && sb !== undefined && files.sameFile(sa, sb);
}

/**
 * --body: the outfile gets the response body after the call; that it can be written is checked
 * before sending (a call that costs money, then a lost answer, is what the check avoids).
 */
function checkSingleOutfile(p: string): void {
  const st = files.statOrUndefined(p);
  if (st?.isDirectory()) throw new UsageError(`cannot write ${p}: it is a directory; nothing was sent`);
  const target = st === undefined ? path.dirname(files.realTarget(p)) : p;
  try {
    fs.accessSync(target, fs.constants.W_OK);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EACCES' ? 'permission denied' : e.code === 'EROFS' ? 'a read-only file system' : e.message;
    throw new UsageError(`cannot write ${p}: ${why}${st === undefined ? ` (in ${target})` : ''}; nothing was sent`);
  }
}

function hasDigestFile(p: string): boolean {
  try {
    return readDigestHeader(p) !== undefined;
  } catch {
    return false;
  }
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
  /** Where this run's first result line goes in the outfile (a resumed one's earlier lines are before). */
  private startOffset = 0;
  /** --resume: the earlier failures' codes and first line numbers (for --stats-json). */
  failuresBefore: { byCode: Map<string, number>; firstLines: number[] } | undefined;

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
    /** The outfile's digest file (a regular outfile): written before the results it covers. */
    readonly digests?: DigestLog,
  ) {
    this.writer = new BatchWriter(stream, digests === undefined ? undefined : () => this.flushDigests());
    this.name = outPath ?? 'standard output';
    stream.on('error', (err: NodeJS.ErrnoException) => this.failed(err));
  }

  /** Opens stdout or the outfile; with --resume/--resume-failed, reads what the outfile answers. */
  static async open(opts: Options, io: Io, outPath: string | undefined, single: boolean, stderr: Stderr): Promise<OutputTarget> {
    if (single || outPath === undefined) return new OutputTarget(io.stdout, undefined, undefined, 0, undefined, undefined, true);
    const flag = opts.resumeFailed ? 'resume-failed' : 'resume';
    const resuming = opts.resume || opts.resumeFailed;
    // The digest file names the format first: a body file resumed with --output result is told so, not "not a result line".
    const st = resuming ? files.statOrUndefined(outPath) : undefined;
    const header = st?.isFile() ? readDigestHeader(outPath) : undefined;
    // (An empty outfile holds no lines of either format: it is started afresh.)
    if (header !== undefined && st!.size > 0) checkFormat(outPath, flag, opts.output, header);
    const state = resuming ? await scanOutfile(outPath, opts.output === 'body', flag, batchFormat(opts.output)) : undefined;
    if (state === undefined || state.records === 0) {
      if (state !== undefined && state.tornBytes > 0) await dropTornLine(outPath, state);
      const stream = await openFile(outPath, 'w');
      const digests = files.statOrUndefined(outPath)?.isFile() ? DigestLog.start(outPath, opts.output) : undefined;
      return new OutputTarget(stream, outPath, undefined, 0, undefined, undefined, false, digests);
    }
    const digests = DigestLog.resume(outPath, flag, opts.output, state.records, header);
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
      stderr.note(`resuming ${outPath}: ${state.failed} of its ${state.records} results failed and are sent again, with any records after them${torn}`);
      const stream = fs.createWriteStream('', { fd: replacement.fd, autoClose: false });
      return new OutputTarget(stream, outPath, resume, 0, replacement, undefined, false, digests);
    }
    stderr.note(`resuming ${outPath}: ${state.records} records already answered${torn}`);
    const target = new OutputTarget(
      await openFile(outPath, 'a'),
      outPath,
      resume,
      state.failed,
      undefined,
      state.tornBytes > 0 ? state : undefined,
      false,
      digests,
    );
    target.startOffset = state.completeBytes;
    if (state.failed > 0) target.failuresBefore = { byCode: state.failuresByCode, firstLines: state.firstFailedLines };
    return target;
  }

  /** The digests of the records read so far go to disk before any result line that needs them. */
  private flushDigests(): void {
    try {
      this.digests?.flush();
    } catch (err) {
      this.failed(digestError(err as NodeJS.ErrnoException, this.digests!.path));
    }
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
    try {
      this.digests?.close();
    } catch (err) {
      this.failed(digestError(err as NodeJS.ErrnoException, this.digests!.path));
    }
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

  /**
   * Result lines of this run that reached the destination: those whose write was reported done, and
   * (a regular outfile, after a failed write) the whole lines of a write that got only part of the way.
   */
  resultsWritten(): number {
    const done = this.writer.linesWritten;
    if (this.outPath === undefined || this.replacement !== undefined) return done;
    let fd: number | undefined;
    try {
      fd = fs.openSync(this.outPath, 'r');
      if (!fs.fstatSync(fd).isFile()) return done;
      const buf = Buffer.alloc(1 << 16);
      let more = 0;
      for (let at = this.startOffset + this.writer.bytesWritten; ; ) {
        const n = fs.readSync(fd, buf, 0, buf.length, at);
        if (n === 0) break;
        for (let i = buf.indexOf(10); i !== -1 && i < n; i = buf.indexOf(10, i + 1)) more++;
        at += n;
      }
      return done + more;
    } catch {
      return done;
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  }

  /** Whether a failed --resume-failed left the original outfile as it was. */
  get keptOriginal(): boolean {
    return this.replacement !== undefined;
  }
}

/** A failed write of the digest file is a failed write of the results (it is theirs), said so. */
function digestError(err: NodeJS.ErrnoException, path: string): NodeJS.ErrnoException {
  err.message = `${err.message.replace(/^[A-Z]+: /, '')} (writing its digest file ${path})`;
  return err;
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
