// The record source: input lines become numbered records (blank lines are not records); with
// --resume the records an earlier run answered are skipped, or (--resume-failed) the ones it
// answered ok come back as their earlier result line. Reading stops when `stop` aborts.
import { decodeLine, type DecodeOptions, type DecodedRecord } from './records.js';
import { readResultHead } from './result-format.js';
import { inShard } from './shard.js';
import type { Summary } from './summary.js';

/** An answer from an earlier run, written again verbatim (--resume-failed). */
export class Kept {
  constructor(readonly text: string) {}
}

export interface ResumeInput {
  /** The first `records` input records are answered already. */
  records: number;
  /** The `line` of the last answer, to check that the input is the same one. */
  lastLine?: number | undefined;
  /** Its `inferenceId` and `meta` (compact JSON), checked against that record too. */
  lastInferenceId?: string | undefined;
  lastMeta?: string | undefined;
  /** A batch file's id (custom_id, recordId) of the last answer, checked against that record too. */
  lastRecordId?: string | undefined;
  /** Whether an earlier result line was an answer (default: sm-invoke's result line's `ok`). */
  isOk?: ((line: string) => boolean) | undefined;
  /**
   * --resume-failed: the earlier results, one line per record. Records whose earlier result was ok keep
   * that line verbatim; failed ones are sent again. Without it, answered records are skipped.
   */
  previous?: AsyncIterable<string>;
}

/**
 * Sees every record's input line as it is read, in order (`record` counts from 1): --resume's digest
 * file checks the records already answered and notes the others. It throws ResumeMismatch to stop.
 */
export type RecordSeen = (record: number, lineNo: number, line: string) => void;

/**
 * Lines -> records, numbering every input line; blank lines are skipped. Ends when `stop` aborts.
 * With `resume`, the first `resume.records` records are skipped, or (with `previous`) those answered ok
 * come back as their earlier result line.
 */
export async function* decodeLines(
  lines: AsyncIterable<string>,
  opts: DecodeOptions,
  stop: AbortSignal,
  summary: Summary,
  resume?: ResumeInput,
  seen?: RecordSeen,
): AsyncGenerator<DecodedRecord | Kept> {
  const it = lines[Symbol.asyncIterator]();
  const reader = stoppable(it, stop);
  const previous = resume?.previous?.[Symbol.asyncIterator]();
  let lineNo = 0;
  let ended = false;
  try {
    for (;;) {
      if (stop.aborted) break;
      const next = await reader.next();
      if (next === 'stop') break;
      if (next.done) {
        ended = true;
        break;
      }
      summary.bytesIn += next.value.length + 1; // latin1: one char per byte
      lineNo++;
      if (opts.shard !== undefined && !inShard(lineNo, opts.shard)) continue;
      const rec = decodeLine(next.value, lineNo, opts);
      if (rec === undefined) continue;
      summary.records++;
      seen?.(summary.records, lineNo, next.value);
      if (resume && summary.records <= resume.records) {
        if (summary.records === resume.records) checkSameRecord(resume, rec, lineNo);
        if (!previous) {
          summary.resumed++;
          continue;
        }
        const old = await previous.next();
        if (old.done) throw new ResumeMismatch('the outfile ended before its counted results');
        const text = typeof old.value === 'string' ? old.value : String(old.value);
        if ((resume.isOk ?? wasOk)(text)) {
          summary.resumed++; // a failed one is sent again: it counts as ok or failed instead
          yield new Kept(text);
          continue;
        }
      }
      yield rec;
    }
    // (Only an input that really ended can be shorter than the outfile: a stopped run proves nothing.)
    if (ended && resume && summary.records < resume.records) {
      throw new ResumeMismatch(`the outfile has ${resume.records} results but this input has only ${summary.records} records: not the same input`);
    }
  } finally {
    reader.close();
    void it.return?.();
    void previous?.return?.();
  }
}

/** Throws unless record `resume.records` of this input is the one the outfile's last result answers. */
function checkSameRecord(resume: ResumeInput, rec: DecodedRecord, lineNo: number): void {
  const last = `the outfile's last result (record ${resume.records})`;
  if (resume.lastLine !== undefined && resume.lastLine !== lineNo) {
    throw new ResumeMismatch(
      `the outfile's last result is for line ${resume.lastLine}, but record ${resume.records} of this input is on line ${lineNo}: not the same input`,
    );
  }
  const id = rec.error ? rec.inferenceId : rec.fields.inferenceId;
  if (resume.lastLine !== undefined && resume.lastInferenceId !== id) {
    throw new ResumeMismatch(
      `${last} has inferenceId ${JSON.stringify(resume.lastInferenceId ?? null)}, but line ${lineNo} of this input has ${JSON.stringify(id ?? null)}: not the same input`,
    );
  }
  if (resume.lastRecordId !== undefined && resume.lastRecordId !== rec.recordId) {
    throw new ResumeMismatch(
      `${last} is for record id ${JSON.stringify(resume.lastRecordId)}, but line ${lineNo} of this input has ${JSON.stringify(rec.recordId ?? null)}: not the same input`,
    );
  }
  const meta = rec.meta;
  if (resume.lastLine !== undefined && resume.lastMeta !== meta) {
    throw new ResumeMismatch(`${last} has meta ${resume.lastMeta ?? 'null'}, but line ${lineNo} of this input has ${meta ?? 'null'}: not the same input`);
  }
}

/**
 * The iterator's items, or 'stop' as soon as `stop` aborts (a read may wait forever on an idle
 * stdin). One abort listener for the whole run settles whichever read is pending: adding and removing
 * a listener per line was 2% of the CPU, and racing every read against one long-lived promise would
 * leave a reaction on that promise per record (memory growing with the input).
 */
function stoppable<T>(it: AsyncIterator<T>, stop: AbortSignal): { next(): Promise<IteratorResult<T> | 'stop'>; close(): void } {
  let pending: ((r: 'stop') => void) | undefined;
  const onAbort = (): void => {
    const p = pending;
    pending = undefined;
    p?.('stop');
  };
  stop.addEventListener('abort', onAbort, { once: true });
  return {
    next: () => {
      if (stop.aborted) return Promise.resolve('stop');
      return new Promise((resolve, reject) => {
        pending = resolve;
        it.next().then(
          (r) => {
            pending = undefined;
            resolve(r);
          },
          (e: unknown) => {
            pending = undefined;
            reject(e);
          },
        );
      });
    },
    close: () => stop.removeEventListener('abort', onAbort),
  };
}

/** The input does not match the outfile being resumed. */
export class ResumeMismatch extends Error {
  override readonly name = 'ResumeMismatch';
}

function wasOk(resultLine: string): boolean {
  return readResultHead(resultLine)?.ok === true;
}
