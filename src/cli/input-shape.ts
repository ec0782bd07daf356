// A look at the first records for input in the wrong shape. It never changes what is sent:
// - body mode, a line that is a JSON object with a `body` or `bodyBase64` key: an envelope sent as a
//   body. One hint on stderr to use --envelope; the run goes on as asked.
// - envelope mode, the first ENVELOPE_PROBE records not JSON at all (CSV, text): every record would be
//   an InvalidJson result. A usage error (exit 2) before anything is sent, unless --max-errors was
//   given (then it decides when to stop).
import { UsageError } from '../errors.js';
import { OVERFLOW_MARK } from '../core/lines.js';
import { withoutBom } from '../core/records.js';

/** Envelope mode: this many records that are not JSON, from the first one on, stop the run. */
export const ENVELOPE_PROBE = 5;
/** Body mode: the first records looked at for envelopes. */
export const BODY_PROBE = 5;

export interface ShapeOptions {
  envelope: boolean;
  /** --max-errors was given: it, not this check, decides when bad records stop the run. */
  maxErrorsGiven: boolean;
  /** stdin is a terminal: records come as they are typed, so none are read ahead. */
  interactive: boolean;
  warn: (line: string) => void;
}

function text(line: string): string {
  return Buffer.from(line, 'latin1').toString('utf8');
}

function parses(line: string): unknown {
  try {
    return JSON.parse(text(line)) as unknown;
  } catch {
    return undefined;
  }
}

const isBlank = (line: string): boolean => line.trim() === '';

/** The lines as they come, with the check made on the way (envelope mode reads its first records ahead). */
export async function checkInputShape(lines: AsyncIterable<string>, o: ShapeOptions): Promise<AsyncIterable<string>> {
  if (!o.envelope) return watchForEnvelopes(lines, o.warn);
  if (o.maxErrorsGiven || o.interactive) return lines;
  const it = lines[Symbol.asyncIterator]();
  const ahead: string[] = [];
  let notJson = 0;
  while (notJson < ENVELOPE_PROBE) {
    const next = await it.next();
    if (next.done) break;
    ahead.push(next.value);
    if (isBlank(next.value)) continue;
    if (next.value.includes(OVERFLOW_MARK) || parses(withoutBom(next.value, ahead.length)) !== undefined) break;
    notJson++;
  }
  if (notJson === ENVELOPE_PROBE) {
    await it.return?.();
    throw new UsageError(
      `--envelope: the first ${ENVELOPE_PROBE} records (lines 1-${ahead.length}) are not JSON (CSV or text?): ` +
        'envelope mode needs a JSON object per line, {"body": ...}; to send each line as it is, leave out --envelope ' +
        '(with --max-errors N such a run goes on); nothing was sent',
    );
  }
  let i = 0;
  return wrap(it, () => (i < ahead.length ? { done: false, value: ahead[i++]! } : undefined));
}

/**
 * An iterable over `it` that asks `first` for each item until it says undefined, then hands out `it`'s
 * own items with no step in between (the records' hot path stays as it was).
 */
function wrap(it: AsyncIterator<string>, first: () => IteratorResult<string> | undefined): AsyncIterable<string> {
  const iterator: AsyncIterator<string> = {
    next: async () => {
      const r = first();
      if (r !== undefined) return r;
      iterator.next = () => it.next();
      return it.next();
    },
    return: async (value?: unknown) => (await it.return?.(value)) ?? { done: true, value: undefined },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}

function watchForEnvelopes(lines: AsyncIterable<string>, warn: (line: string) => void): AsyncIterable<string> {
  const it = lines[Symbol.asyncIterator]();
  let looked = 0;
  let lineNo = 0;
  const iterator: AsyncIterator<string> = {
    next: async () => {
      const r = await it.next();
      if (r.done) return r;
      lineNo++;
      if (isBlank(r.value)) return r;
      const line = withoutBom(r.value, lineNo);
      const v = line.trimStart().startsWith('{') ? parses(line) : undefined;
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && ('body' in v || 'bodyBase64' in v)) {
        warn(
          `line ${lineNo} looks like an envelope (a JSON object with "${'body' in v ? 'body' : 'bodyBase64'}") but is sent as the request body as it is: add --envelope to read envelopes`,
        );
        looked = BODY_PROBE;
      }
      if (++looked >= BODY_PROBE) iterator.next = () => it.next(); // looked enough: out of the way
      return r;
    },
    return: async (value?: unknown) => (await it.return?.(value)) ?? { done: true, value: undefined },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}
