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
  /** --content-type was given: no hint that JSON bodies go without one. */
  contentTypeGiven?: boolean;
  warn: (line: string) => void;
  /** Where the JSON-without-content-type hint goes (default: warn). */
  hint?: (line: string) => void;
}

/** Once per run: JSON bodies and no content type (the AWS CLI sends none either; many models want one). */
function jsonHint(lineNo: number, where: string): string {
  return (
    `line ${lineNo}: ${where} looks like JSON, but no content type is given, so none is sent (as with the AWS CLI): ` +
    'if the model expects JSON, add --content-type application/json'
  );
}

const isJsonContainer = (v: unknown): boolean => v !== null && typeof v === 'object';

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
  if (!o.envelope) return watchForEnvelopes(lines, o.warn, o.contentTypeGiven !== false, o.hint ?? o.warn);
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
  if (o.contentTypeGiven === false) {
    // The first envelope: a JSON body with no contentType of its own.
    const first = ahead.findIndex((l) => !isBlank(l));
    const v = first === -1 ? undefined : parses(withoutBom(ahead[first]!, first + 1));
    if (isJsonContainer(v) && !Array.isArray(v)) {
      const env = v as Record<string, unknown>;
      if (isJsonContainer(env.body) && !('contentType' in env)) (o.hint ?? o.warn)(jsonHint(first + 1, 'the body'));
    }
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

function watchForEnvelopes(
  lines: AsyncIterable<string>,
  warn: (line: string) => void,
  contentTypeGiven: boolean,
  hint: (line: string) => void,
): AsyncIterable<string> {
  const it = lines[Symbol.asyncIterator]();
  let looked = 0;
  let hinted = contentTypeGiven;
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
      } else if (!hinted && isJsonContainer(v)) {
        hinted = true;
        hint(jsonHint(lineNo, 'the body'));
      }
      if (++looked >= BODY_PROBE) iterator.next = () => it.next(); // looked enough: out of the way
      return r;
    },
    return: async (value?: unknown) => (await it.return?.(value)) ?? { done: true, value: undefined },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}
