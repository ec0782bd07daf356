// The digest file: `OUTFILE.sm-invoke.digests`, written next to an outfile (a regular file) as its
// records are read. It proves, on --resume, that the records the outfile already answers are the
// records of this input: the same count is not enough (another day's input of the same length), nor
// the last line's id. One 8-byte digest per record, in input order, of the record's line number and
// bytes, after a one-line header that names the --output format:
//
//   sm-invoke digests 1 output=result\n  <8 bytes> <8 bytes> ...
//
// A record's digest is written before its result line reaches the outfile (the pending digests are
// written out before every write of results), so after any kill the file holds at least one digest
// per complete result line; those past the outfile's last line are for records read but not
// answered, and are replaced when the run is resumed.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { UsageError } from '../errors.js';
import { ResumeMismatch, type RecordSeen } from '../core/pipeline.js';
import { realTarget } from './output-files.js';
import type { OutputMode } from '../core/result-format.js';

export const DIGESTS_SUFFIX = '.sm-invoke.digests';
const HEADER_PREFIX = 'sm-invoke digests 1 output=';
const ENTRY_BYTES = 8;
/** Digests written in one go (and read back in one go on resume). */
const BLOCK_ENTRIES = 8192;
/** Longer lines are hashed natively (SHA-256); shorter ones in JS, which is cheaper below this. */
const NATIVE_FROM = 1024;

/** Beside the outfile's real path (as its lock is): a symlinked outfile's digests go with its target. */
export function digestsPath(outfile: string): string {
  return realTarget(outfile) + DIGESTS_SUFFIX;
}

export interface DigestHeader {
  output: OutputMode;
  headerBytes: number;
  /** Whole digests the file holds. */
  entries: number;
}

/** The digest file's header and size; undefined when there is none; a UsageError when it is not one. */
export function readDigestHeader(outfile: string): DigestHeader | undefined {
  const path = digestsPath(outfile);
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    const size = fs.fstatSync(fd).size;
    const head = Buffer.alloc(64);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    const text = head.toString('latin1', 0, n);
    const nl = text.indexOf('\n');
    const m = nl === -1 ? null : /^sm-invoke digests 1 output=(result|body|openai-batch|bedrock-batch)$/.exec(text.slice(0, nl));
    if (m === null) throw new UsageError(`${path} is not an sm-invoke digest file (it should start "${HEADER_PREFIX}...")`);
    return { output: m[1] as OutputMode, headerBytes: nl + 1, entries: Math.floor((size - nl - 1) / ENTRY_BYTES) };
  } finally {
    fs.closeSync(fd);
  }
}

/** A record's digest: 8 bytes from its line number and its line's bytes (a latin1 string: one char per byte). */
export function lineDigest(lineNo: number, line: string, out: Buffer, at: number): void {
  if (line.length >= NATIVE_FROM) {
    createHash('sha256').update(`${lineNo}:`).update(line, 'latin1').digest().copy(out, at, 0, ENTRY_BYTES);
    return;
  }
  // Two 32-bit multiply-xor lanes (FNV-1a and a MurmurHash-style one), then MurmurHash3's finaliser.
  let h1 = 0x811c9dc5 ^ lineNo;
  let h2 = Math.imul(0x9747b28c ^ lineNo, 0x5bd1e995);
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  h1 = fmix32(h1 ^ line.length);
  h2 = fmix32(h2 ^ h1);
  out.writeUInt32LE(h1 >>> 0, at);
  out.writeUInt32LE(h2 >>> 0, at + 4);
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * The digest file of one run: the records up to `verified` are checked against it (--resume), the
 * ones after are written to it.
 */
export class DigestLog {
  private readonly pending = Buffer.alloc(BLOCK_ENTRIES * ENTRY_BYTES);
  private pendingBytes = 0;
  /** Where the next pending digest goes in the file. */
  private writeAt: number;
  /** Digests read back for checking: entries [blockFirst, blockFirst + blockEntries). */
  private readonly block = Buffer.alloc(BLOCK_ENTRIES * ENTRY_BYTES);
  private blockFirst = 0;
  private blockEntries = 0;
  private readonly mine = Buffer.alloc(ENTRY_BYTES);
  private truncated: boolean;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly fd: number,
    private readonly headerBytes: number,
    /** Records already answered: their digests are checked, not written. */
    private readonly verified: number,
  ) {
    this.writeAt = headerBytes + verified * ENTRY_BYTES;
    this.truncated = verified === 0;
  }

  /** A new outfile: a new digest file (replacing any old one). */
  static start(outfile: string, output: OutputMode): DigestLog {
    const path = digestsPath(outfile);
    const header = `${HEADER_PREFIX}${output}\n`;
    let fd: number;
    try {
      fd = fs.openSync(path, 'w');
      fs.writeSync(fd, header);
    } catch (err) {
      throw new UsageError(`cannot write ${path} (the outfile's digest file, for --resume): ${(err as Error).message}`);
    }
    return new DigestLog(path, fd, header.length, 0);
  }

  /**
   * --resume of an outfile with `records` complete result lines, made with --output `output`: its
   * digest file must be there, of that format, with a digest for each of them. Nothing is changed
   * until the first record past them.
   */
  static resume(outfile: string, flag: string, output: OutputMode, records: number, header: DigestHeader | undefined): DigestLog {
    const path = digestsPath(outfile);
    if (header === undefined) {
      throw new UsageError(
        `--${flag}: ${outfile} has no digest file (${path}), so nothing proves that its ${records} results answer the first ${records} records ` +
          'of this input (outfiles written by an sm-invoke without digest files have none; a moved or renamed outfile must take its digest file along); ' +
          'nothing was changed. To start over, give --force instead (the results are replaced)',
      );
    }
    checkFormat(outfile, flag, output, header);
    if (header.entries < records) {
      throw new UsageError(
        `--${flag}: ${path} has digests for ${header.entries} records but ${outfile} holds ${records} results: they do not belong together; nothing was changed`,
      );
    }
    let fd: number;
    try {
      fd = fs.openSync(path, 'r+');
    } catch (err) {
      throw new UsageError(`cannot write ${path} (the outfile's digest file): ${(err as Error).message}`);
    }
    return new DigestLog(path, fd, header.headerBytes, records);
  }

  /** The pipeline's RecordSeen: checks an answered record, notes a new one. */
  readonly seen: RecordSeen = (record, lineNo, line) => {
    if (record <= this.verified) {
      lineDigest(lineNo, line, this.mine, 0);
      const stored = this.storedDigest(record);
      if (!this.mine.equals(stored)) {
        throw new ResumeMismatch(
          `record ${record} of this input (line ${lineNo}) is not the record that the outfile's result ${record} answers ` +
            `(its digest in ${this.path} differs): not the same input`,
        );
      }
      return;
    }
    if (this.pendingBytes === this.pending.length) this.flush();
    lineDigest(lineNo, line, this.pending, this.pendingBytes);
    this.pendingBytes += ENTRY_BYTES;
  };

  private storedDigest(record: number): Buffer {
    const index = record - 1;
    if (index < this.blockFirst || index >= this.blockFirst + this.blockEntries) {
      const count = Math.min(BLOCK_ENTRIES, this.verified - index);
      const n = fs.readSync(this.fd, this.block, 0, count * ENTRY_BYTES, this.headerBytes + index * ENTRY_BYTES);
      this.blockFirst = index;
      this.blockEntries = Math.floor(n / ENTRY_BYTES);
      if (this.blockEntries === 0) throw new ResumeMismatch(`${this.path} ended before the digest of record ${record}`);
    }
    const at = (index - this.blockFirst) * ENTRY_BYTES;
    return this.block.subarray(at, at + ENTRY_BYTES);
  }

  /** Writes the pending digests (before any write of results, so that the digests stay ahead). Throws on a write error. */
  flush(): void {
    if (this.pendingBytes === 0 || this.closed) return;
    if (!this.truncated) {
      // Digests of records an interrupted run had read but not answered: replaced from here.
      fs.ftruncateSync(this.fd, this.writeAt);
      this.truncated = true;
    }
    let done = 0;
    while (done < this.pendingBytes) done += fs.writeSync(this.fd, this.pending, done, this.pendingBytes - done, this.writeAt + done);
    this.writeAt += this.pendingBytes;
    this.pendingBytes = 0;
  }

  close(): void {
    if (this.closed) return;
    try {
      this.flush();
    } finally {
      this.closed = true;
      fs.closeSync(this.fd);
    }
  }
}

/** The outfile was made with the other --output: resuming would mix two formats in one file. */
export function checkFormat(outfile: string, flag: string, output: OutputMode, header: DigestHeader): void {
  if (header.output === output) return;
  throw new UsageError(
    `--${flag}: ${outfile} holds --output ${header.output} lines (${digestsPath(outfile)}), but this run has --output ${output}: ` +
      `give --output ${header.output} to continue it; nothing was changed`,
  );
}
