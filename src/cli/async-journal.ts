// The async journal's file: `<outfile>.async-journal`, appended with one synchronous write per entry
// (a killed process loses nothing it wrote; see docs/async.md §4 for what a power cut can lose). A
// resumed run reads it back (only what is still open is kept in memory) and appends to it; a run
// that ends with nothing pending removes it.
import fs from 'node:fs';
import { UsageError } from '../errors.js';
import { decodeEntry, encodeEntry, newRunName, type Journal, type JournalEntry, type JournalHeader } from '../core/async/journal.js';

export const JOURNAL_SUFFIX = '.async-journal';

export interface JournalFile extends Journal {
  readonly path: string;
  /** Records submitted and not collected, by this run or an earlier one (still open in the file). */
  open(): number;
  close(): void;
  /** Deletes the file (the run completed: nothing is pending). */
  remove(): void;
}

export function openJournal(outPath: string, resume: boolean, now: number, random: () => number): JournalFile {
  const path = outPath + JOURNAL_SUFFIX;
  const entries = new Map<number, JournalEntry>();
  let run: string | undefined;
  let text: string | undefined;
  try {
    text = fs.readFileSync(path, 'latin1');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new UsageError(`cannot read the async journal ${path}: ${(err as Error).message}`);
  }
  if (text !== undefined && text.length > 0) {
    for (const line of text.split('\n')) {
      const e = decodeEntry(line);
      if (e === undefined) continue;
      if ('journal' in e) run ??= (e as JournalHeader).run;
      else if (e.state === 'done') entries.delete(e.line);
      else entries.set(e.line, e);
    }
    if (!resume && entries.size > 0) {
      throw new UsageError(
        `${path} holds ${entries.size} record(s) an earlier run submitted and did not collect: --resume ${outPath} collects them (nothing is submitted twice); delete the journal only to give them up`,
      );
    }
  }
  const earlier = resume ? entries.size : 0;
  if (!resume) entries.clear();
  run = resume && run !== undefined ? run : newRunName(now, random);
  let fd: number;
  try {
    fd = fs.openSync(path, resume ? 'a' : 'w');
    // A torn last line (a crash mid-write) must not swallow the next entry.
    if (resume && text !== undefined && text.length > 0 && !text.endsWith('\n')) fs.writeSync(fd, '\n');
    if (!resume || text === undefined || text.length === 0) {
      const header: JournalHeader = { journal: 'sm-invoke async', version: 1, run };
      fs.writeSync(fd, JSON.stringify(header) + '\n');
    }
  } catch (err) {
    throw new UsageError(`cannot write the async journal ${path}: ${(err as Error).message}`);
  }
  const openLines = new Set<number>();
  for (const e of entries.values()) if (e.state === 'submitted') openLines.add(e.line);
  let closed = false;
  return {
    path,
    run,
    earlier,
    lookup: (line) => entries.get(line),
    write(entry: JournalEntry): void {
      fs.writeSync(fd, encodeEntry(entry));
      if (entry.state === 'submitted') openLines.add(entry.line);
      else if (entry.state === 'done') {
        openLines.delete(entry.line);
        entries.delete(entry.line);
      }
    },
    open: () => openLines.size,
    close() {
      if (closed) return;
      closed = true;
      try {
        fs.closeSync(fd);
      } catch {
        // already gone
      }
    },
    remove() {
      this.close();
      fs.rmSync(path, { force: true });
    },
  };
}
