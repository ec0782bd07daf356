// The crash-safety journal's entries (docs/async.md §4): one JSON line per step of a record's
// submission, appended next to the outfile before the step is taken or acknowledged, so that a
// killed run can be resumed without submitting any record twice. Pure: the file is the CLI's
// (cli/async-journal.ts); core sees the Journal interface.

/** Before the input is uploaded: nothing submitted yet (a resumed run uploads and submits again). */
export interface UploadingEntry {
  line: number;
  state: 'uploading';
  input: string;
}
/** Before the request is sent: after this, the record may have been submitted. */
export interface SubmittingEntry {
  line: number;
  state: 'submitting';
  input?: string;
}
/** The 202: where the answer will be. */
export interface SubmittedEntry {
  line: number;
  state: 'submitted';
  inferenceId: string | undefined;
  output: string;
  failure: string | undefined;
  input?: string;
  /** When it was submitted (epoch ms) and when collecting gives up (epoch ms). */
  at: number;
  deadline: number;
}
/** The record's result is written (or about to be): the entry is done with. */
export interface DoneEntry {
  line: number;
  state: 'done';
}
export type JournalEntry = UploadingEntry | SubmittingEntry | SubmittedEntry | DoneEntry;

export interface JournalHeader {
  journal: 'sm-invoke async';
  version: 1;
  /** Names the run's input keys (`<prefix><run>/<line>`); a resumed run keeps it. */
  run: string;
}

export interface Journal {
  readonly run: string;
  /** What an earlier run journalled for this line (its last entry), if anything. */
  lookup(line: number): JournalEntry | undefined;
  /** Appends an entry; throws when it could not be written (the run must stop submitting). */
  write(entry: JournalEntry): void;
  /** Records journalled by an earlier run and not yet collected (for the end messages). */
  readonly earlier: number;
}

export function encodeEntry(e: JournalEntry): string {
  return JSON.stringify(e) + '\n';
}

/** One journal line; undefined for a line that is not an entry (a torn last line after a crash). */
export function decodeEntry(text: string): JournalEntry | JournalHeader | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (o.journal === 'sm-invoke async' && typeof o.run === 'string') return o as unknown as JournalHeader;
  if (!Number.isInteger(o.line)) return undefined;
  if (o.state === 'uploading' && typeof o.input === 'string') return o as unknown as UploadingEntry;
  if (o.state === 'submitting') return o as unknown as SubmittingEntry;
  if (o.state === 'submitted' && typeof o.output === 'string' && typeof o.deadline === 'number') return o as unknown as SubmittedEntry;
  if (o.state === 'done') return o as unknown as DoneEntry;
  return undefined;
}

/** A new run's name: its start time and 6 random hex digits (input keys of two runs never collide). */
export function newRunName(now: number, random: () => number): string {
  const t = new Date(now)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${t}-${Math.floor(random() * 0x1000000)
    .toString(16)
    .padStart(6, '0')}`;
}
