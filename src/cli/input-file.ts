// --input FILE (-i): the records come from FILE instead of standard input (`-` is standard input).
// Naming the input is the jq / AWS CLI habit; without a flag, the one file named on the command
// line is the outfile. The file's identity goes into the same-file checks (the outfile and
// --stats-json must not be it) and its size gives --progress a percentage and an ETA.
import fs from 'node:fs';
import { UsageError } from '../errors.js';
import type { Options } from './args.js';
import type { Io } from './io.js';
import type { InputIdentity } from './output-files.js';

export interface OpenedInput {
  /** The Io to read records from: `stdin` is the file's stream when --input names one. */
  io: Io;
  /** --input FILE: what it is, for the same-file checks. */
  input: (InputIdentity & { path: string }) | undefined;
}

export function openInput(opts: Options, io: Io): OpenedInput {
  const p = opts.input;
  if (p === undefined || p === '-') return { io, input: undefined };
  if (p === '') throw new UsageError('--input needs a file name (or - for standard input)');
  if (opts.body !== undefined) throw new UsageError('--body sends one request with its own body; it does not go with --input');
  let fd: number;
  try {
    fd = fs.openSync(p, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.message;
    throw new UsageError(`--input ${p}: cannot read it: ${why}`);
  }
  const stat = fs.fstatSync(fd);
  if (stat.isDirectory()) {
    fs.closeSync(fd);
    throw new UsageError(`--input ${p} is a directory: give a file of records`);
  }
  const stdin = fs.createReadStream('', { fd, highWaterMark: 1 << 16 });
  return { io: { ...io, stdin, stdinFd: undefined }, input: { path: p, stat, name: `the --input file ${p}` } };
}
