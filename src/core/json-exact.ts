// Pure: a strict JSON scanner that keeps every value exactly as the user wrote it.
//
// JSON.parse + JSON.stringify rewrite values: 12345678901234567890 becomes 12345678901234567000,
// 1e400 becomes null, -0 becomes 0, 1.10 becomes 1.1, "\u00e9" becomes "é", the last of two equal
// keys wins, and JSON.stringify overflows the stack on deep nesting. This module never rebuilds a
// value: it validates the text and hands back the text itself (whitespace outside strings
// removed), plus the decoded string for an object's top-level string members.
//
// Grammar: exactly what JSON.parse accepts (RFC 8259; whitespace is space, tab, CR and LF), except
// that it also refuses a string whose decoded value is not valid Unicode (a lone surrogate, escaped
// as "\ud800" or raw) and nesting deeper than maxDepth. Those two are errors of class
// 'InvalidRecord' (valid JSON this tool will not pass on); 'InvalidJson' is reported exactly when
// JSON.parse would throw, even when the text also has one of the other problems.
//
// Iterative (an explicit stack), linear in the length of the text, and positions in messages are
// indexes into the JS string (UTF-16 code units, the same as JSON.parse reports), not byte offsets.

export type JsonKind = 'object' | 'array' | 'string' | 'number' | 'true' | 'false' | 'null';

/**
 * One top-level member of an object. Its strings share memory with the scanned text, except that in
 * a text over 4 KiB any of them shorter than half the text is a copy: keeping a member (a `meta`
 * held until the result is written) never keeps more than twice its size of the line alive.
 */
export interface JsonMember {
  /** The decoded key. */
  key: string;
  kind: JsonKind;
  /** The value's exact text, with the whitespace outside strings removed; for a string, quotes and escapes as written. */
  raw: string;
  /** The decoded value; only for kind 'string'. */
  value?: string;
}

/**
 * 'InvalidJson': JSON.parse would reject the text too; the message names the position.
 * 'InvalidRecord': valid JSON that is refused: a lone surrogate, nesting deeper than maxDepth, and
 * for scanObject a top-level value that is not an object or a top-level key given twice.
 * `key` is the top-level key involved (scanObject only, capped to 60 characters).
 */
export interface ScanFailure {
  ok: false;
  code: 'InvalidJson' | 'InvalidRecord';
  message: string;
  key?: string;
}

export type EnvelopeScan = { ok: true; members: JsonMember[] } | ScanFailure;
export type CompactResult = { ok: true; json: string } | ScanFailure;

export interface ScanOptions {
  /** Most containers open at once, counting the outermost; default DEFAULT_MAX_DEPTH. */
  maxDepth?: number;
  /**
   * Containers around the values that matter that are not counted (default 0): 1 for an envelope or
   * a result line, whose object holds the body; so a body nested exactly maxDepth levels passes
   * inside it, and messages still name maxDepth.
   */
  outer?: number;
}

export const DEFAULT_MAX_DEPTH = 1000;

/** Longest key or text echoed in a message, in characters. */
const ECHO_MAX = 60;

/**
 * A whole line that must be one JSON object: its top-level members in order. Duplicate top-level
 * keys (compared decoded) are an error; deeper duplicates are part of a value and pass as written.
 */
export function scanObject(text: string, options?: ScanOptions): EnvelopeScan {
  const members: JsonMember[] = [];
  const failure = scan(text, maxDepthOf(options), members, options?.outer);
  return failure ?? { ok: true, members };
}

/** Validates any JSON text and returns it compacted: whitespace outside strings removed, values byte-exact. */
export function compactJson(text: string, options?: ScanOptions): CompactResult {
  const failure = scan(text, maxDepthOf(options), undefined, options?.outer);
  if (failure) return failure;
  const start = valueStart;
  const end = valueEnd;
  // Runs before and after the value are not inside it.
  const from = start > 0 ? 2 : 0;
  const to = end < text.length ? runCount - 2 : runCount;
  const json = from === to ? (start === 0 && end === text.length ? text : text.slice(start, end)) : squeeze(text, start, end, from, to);
  if (runs.length > 1 << 16) runs = new Int32Array(64);
  return { ok: true, json };
}

function maxDepthOf(options: ScanOptions | undefined): number {
  const d = options?.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`maxDepth must be a non-negative integer, got ${d}`);
  return d;
}

// ---- scratch state: the scanner never calls user code, so it never re-enters itself ----

const OBJECT = 1;
const ARRAY = 2;
/** kinds[d]: the container open at depth d (1-based). One byte per level, for any depth. */
let kinds = new Uint8Array(64);
/** info[d] for d <= maxDepth: an object's current key position, or an array's current index. Only read for messages. */
const info: number[] = [0];
/** Whitespace runs outside strings, as [start, end) pairs, in text order: runs[0..runCount). */
let runs = new Int32Array(64);
let runCount = 0;
/** The top-level value's span after a successful scan. */
let valueStart = 0;
let valueEnd = 0;

// What scanString and decodeString found, beside their return value.
/** decodeString's decoded value. */
let memberValue = '';
/** Position of the first lone surrogate in the string (raw or escaped), or -1. */
let strLone = -1;
/** The string had no escape (nor anything else but plain characters). */
let strPlain = false;
/** The limit a "nested deeper than" message names (maxDepth, without the uncounted outer containers). */
let shownDepth = 0;
/** The syntax error when a helper returns -1. */
let syntaxMessage = '';

function scan(text: string, maxDepth: number, members: JsonMember[] | undefined, outer = 0): ScanFailure | undefined {
  if (!Number.isSafeInteger(outer) || outer < 0) throw new RangeError(`outer must be a non-negative integer, got ${outer}`);
  shownDepth = maxDepth;
  const failure = scanText(text, maxDepth + outer, members);
  // Let a freak line's scratch go (compactJson reads runs after this, not kinds or info).
  if (kinds.length > 4096) kinds = new Uint8Array(64);
  if (info.length > 4096) info.length = 1;
  if (runs.length > 1 << 16 && (failure !== undefined || members !== undefined)) runs = new Int32Array(64);
  return failure;
}

// long function: the scanner's one loop over the text, a state machine on the character at hand; it
// runs once per input record, and a call per token or per state costs measurable time (bench-json.mjs).
function scanText(text: string, maxDepth: number, members: JsonMember[] | undefined): ScanFailure | undefined {
  runCount = 0;
  let i = 0;
  let c = text.charCodeAt(0);
  if (c <= 32) c = text.charCodeAt((i = ws(text, i)));
  valueStart = i;
  const envelope = members !== undefined && c === 123;
  let semantic: ScanFailure | undefined;
  let depth = 0;
  let wantKey = false;
  // The envelope member being read.
  let memberKey = '';
  let memberStart = 0;
  let memberRuns = 0;
  let keySet: Set<string> | undefined;
  // Members are slices of the text, and a slice keeps all of its text alive; a member kept after a
  // big line is gone must not keep the line. Below this length they are copied (see detach).
  const detachBelow = text.length > DETACH_FROM ? text.length >> 1 : 0;

  // At the top of this loop, i is at the next token (whitespace skipped) and c is its code.
  value: for (;;) {
    if (wantKey) {
      wantKey = false;
      if (c !== 34) return syntax(unexpected(text, i, 'a property name'));
      const keyStart = i;
      i = scanString(text, i);
      if (i < 0) return syntax();
      if (depth <= maxDepth) info[depth] = keyStart;
      if (strLone >= 0) semantic ??= lone(text, strLone, depth - 1, true, maxDepth, envelope && depth > 1 ? memberKey : undefined);
      if (envelope && depth === 1) memberKey = strPlain ? text.slice(keyStart + 1, i - 1) : decodeKey(text, keyStart, i);
      c = text.charCodeAt(i);
      if (c <= 32) c = text.charCodeAt((i = ws(text, i)));
      if (c !== 58) return syntax(unexpected(text, i, "':'"));
      c = text.charCodeAt(++i);
      if (c <= 32) c = text.charCodeAt((i = ws(text, i)));
    }
    if (envelope && depth === 1) {
      memberStart = i;
      memberRuns = runCount;
    }
    if (c === 34) {
      i = envelope && depth === 1 ? decodeString(text, i) : scanString(text, i);
      if (i < 0) return syntax();
      if (strLone >= 0) semantic ??= lone(text, strLone, depth, false, maxDepth, envelope ? memberKey : undefined);
    } else if (c === 123 || c === 91) {
      depth++;
      if (depth >= kinds.length) {
        const bigger = new Uint8Array(kinds.length * 2);
        bigger.set(kinds);
        kinds = bigger;
      }
      kinds[depth] = c === 123 ? OBJECT : ARRAY;
      if (depth <= maxDepth) info[depth] = c === 123 ? -1 : 0;
      else semantic ??= tooDeep(text, i, depth - 1, maxDepth, envelope ? memberKey : undefined);
      const close = c + 2; // } and ]
      c = text.charCodeAt(++i);
      if (c <= 32) c = text.charCodeAt((i = ws(text, i)));
      if (c !== close) {
        wantKey = close === 125;
        continue;
      }
      i++;
      depth--;
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      i = scanNumber(text, i);
      if (i < 0) return syntax();
    } else if (c === 116) {
      i = literal(text, i, 'true');
      if (i < 0) return syntax();
    } else if (c === 102) {
      i = literal(text, i, 'false');
      if (i < 0) return syntax();
    } else if (c === 110) {
      i = literal(text, i, 'null');
      if (i < 0) return syntax();
    } else {
      return syntax(unexpected(text, i, 'a value'));
    }

    // A value just ended at i: close containers until a comma starts the next one.
    for (;;) {
      if (depth === 0) break value;
      if (envelope && depth === 1) {
        const kind = kindAt(text.charCodeAt(memberStart));
        let raw = memberRuns === runCount ? text.slice(memberStart, i) : squeeze(text, memberStart, i, memberRuns, runCount);
        let key = memberKey;
        if (raw.length < detachBelow) raw = detach(raw);
        if (key.length < detachBelow) key = detach(key);
        if (kind === 'string') {
          const value = memberValue.length < detachBelow ? detach(memberValue) : memberValue;
          members!.push({ key, kind, raw, value });
        } else {
          members!.push({ key, kind, raw });
        }
        // Duplicate check: a short list is searched, a long one gets a set (linear for any count).
        const n = members!.length - 1;
        if (n < 16) {
          for (let m = 0; m < n; m++) {
            if (members![m]!.key === memberKey) {
              semantic ??= duplicate(memberKey);
              break;
            }
          }
        } else {
          if (keySet === undefined) keySet = new Set(members!.slice(0, n).map((m) => m.key));
          if (keySet.has(memberKey)) semantic ??= duplicate(memberKey);
          keySet.add(memberKey);
        }
      }
      c = text.charCodeAt(i);
      if (c <= 32) c = text.charCodeAt((i = ws(text, i)));
      const kind = kinds[depth];
      if (c === 44) {
        c = text.charCodeAt(++i);
        if (c <= 32) c = text.charCodeAt((i = ws(text, i)));
        if (kind === ARRAY) {
          if (depth <= maxDepth) info[depth]!++;
        } else {
          wantKey = true;
        }
        continue value;
      }
      if (c === (kind === OBJECT ? 125 : 93)) {
        i++;
        depth--;
        continue;
      }
      return syntax(unexpected(text, i, kind === OBJECT ? "',' or '}'" : "',' or ']'"));
    }
  }

  valueEnd = i;
  if (text.charCodeAt(i) <= 32) i = ws(text, i);
  if (i < text.length) return syntax(unexpected(text, i, 'end of input'));
  if (members !== undefined && !envelope) {
    const c0 = text.charCodeAt(valueStart);
    const got = c0 === 91 ? 'an array' : c0 === 110 ? 'null' : c0 === 34 ? 'string' : c0 === 116 || c0 === 102 ? 'boolean' : 'number';
    return { ok: false, code: 'InvalidRecord', message: `an envelope must be a JSON object, got ${got}` };
  }
  return semantic;
}

/** Texts longer than this have their shorter members copied out, not sliced. */
const DETACH_FROM = 4096;

/**
 * A copy of s that does not share its memory: V8 makes a slice of 13 or more characters a view
 * into the whole parent string. (Concatenating and slicing flattens into a new string.)
 */
function detach(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

/** A scanned key [start, end), quotes included, decoded. */
function decodeKey(text: string, start: number, end: number): string {
  const raw = text.slice(start, end);
  return raw.indexOf('\\') < 0 ? raw.slice(1, -1) : (JSON.parse(raw) as string);
}

function syntax(message = syntaxMessage): ScanFailure {
  return { ok: false, code: 'InvalidJson', message };
}

function kindAt(c: number): JsonKind {
  return c === 123 ? 'object' : c === 91 ? 'array' : c === 34 ? 'string' : c === 116 ? 'true' : c === 102 ? 'false' : c === 110 ? 'null' : 'number';
}

/** Skips whitespace, remembering the run; returns the next position. Callers check for c <= 32 first. */
function ws(text: string, i: number): number {
  let c = text.charCodeAt(i);
  if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return i;
  const start = i;
  do c = text.charCodeAt(++i);
  while (c === 32 || c === 10 || c === 13 || c === 9);
  if (runCount + 2 > runs.length) {
    const bigger = new Int32Array(runs.length * 2);
    bigger.set(runs);
    runs = bigger;
  }
  runs[runCount++] = start;
  runs[runCount++] = i;
  return i;
}

/** text[start, end) without the whitespace runs runs[from..to). */
function squeeze(text: string, start: number, end: number, from: number, to: number): string {
  let out = '';
  let p = start;
  for (let r = from; r < to; r += 2) {
    out += text.slice(p, runs[r]);
    p = runs[r + 1]!;
  }
  return out + text.slice(p, end);
}

// Characters a string can hold as is: not '"', '\\', a control character or a surrogate.
const PLAIN = /[^"\\\x00-\x1f\ud800-\udfff]/.source;
const PLAIN_RUN = new RegExp(`${PLAIN}*`, 'y');
// What else needs no closer look: an escape other than a surrogate's, an escaped surrogate pair,
// a raw surrogate pair. Lone surrogates (and raw/escaped mixes) stop it, and so does the bound on
// the escapes taken per call, which keeps the regex engine's backtrack stack small on any input.
const ESCAPE = /\\(?:["\\/bfnrt]|u(?:(?![dD][89a-fA-F])[0-9a-fA-F]{4}|[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}))/.source;
const PAIR = /[\ud800-\udbff][\udc00-\udfff]/.source;
const ESCAPED_RUN = new RegExp(`${PLAIN}*(?:(?:${ESCAPE}|${PAIR})${PLAIN}*){0,1000}`, 'y');
/** For ASCII: 1 where a string holds the character as is. */
const PLAIN_ASCII = new Uint8Array(128).map((_, c) => (c >= 32 && c !== 34 && c !== 92 ? 1 : 0));
/** For ASCII: 1 for the character after a backslash in a one-character escape: " \\ / b f n r t. */
const SIMPLE_ESCAPE = new Uint8Array(128).map((_, c) => ('"\\/bfnrt'.includes(String.fromCharCode(c)) ? 1 : 0));

/** The end of the run of plain characters from i: short runs by hand, long ones by the regex engine. */
function plainEnd(text: string, i: number): number {
  let c = text.charCodeAt(i);
  for (let n = 16; c < 128 ? PLAIN_ASCII[c] === 1 : c < 0xd800 || c > 0xdfff; c = text.charCodeAt(++i)) {
    if (--n === 0) {
      PLAIN_RUN.lastIndex = i;
      PLAIN_RUN.test(text);
      return PLAIN_RUN.lastIndex;
    }
  }
  return i;
}

/**
 * Reads the string whose opening quote is at `start`; returns the position after its closing
 * quote, or -1 (syntaxMessage says why). Sets strLone and strPlain.
 */
function scanString(text: string, start: number): number {
  strLone = -1;
  let i = plainEnd(text, start + 1);
  strPlain = text.charCodeAt(i) === 34;
  if (strPlain) return i + 1;
  for (;;) {
    ESCAPED_RUN.lastIndex = i;
    ESCAPED_RUN.test(text);
    i = ESCAPED_RUN.lastIndex;
    const c = text.charCodeAt(i);
    if (c === 34) return i + 1;
    if (c === 92) {
      const e = text.charCodeAt(i + 1);
      if (e < 128 && SIMPLE_ESCAPE[e] === 1) {
        i += 2; // the regex stopped at its escape count
        continue;
      }
      if (e !== 117) return i + 1 >= text.length ? unterminated(start) : fail(`Bad escaped character ${show(text, i + 1)} at position ${i + 1}`);
      const unit = hex4(text, i + 2);
      if (unit < 0) {
        for (let k = i + 2; k < i + 6; k++) {
          if (hex(text.charCodeAt(k)) < 0) return k >= text.length ? unterminated(start) : fail(`Bad Unicode escape at position ${i}`);
        }
      }
      i = (unit & 0xf800) === 0xd800 ? surrogate(text, i, unit, 6) : i + 6;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      i = surrogate(text, i, c, 1);
    } else if (c < 32) {
      return fail(`Bad control character ${show(text, i)} in string at position ${i}`);
    } else {
      return unterminated(start); // NaN: the end of the text
    }
  }
}

/**
 * A string the caller wants decoded (a top-level member's value): like scanString, and sets
 * memberValue. With escapes, JSON.parse both checks and decodes the string, one native pass
 * instead of two; anything it refuses, or a value that is not well-formed, gets scanString's answer.
 */
function decodeString(text: string, start: number): number {
  let i = plainEnd(text, start + 1);
  if (text.charCodeAt(i) === 34) {
    strLone = -1;
    memberValue = text.slice(start + 1, i);
    return i + 1;
  }
  // The closing quote: the first one after an even run of backslashes (right if the string is
  // valid). One indexOf per escaped quote beats the regex scan while they are a dozen characters
  // apart or more; denser quotes, or long runs of backslashes, go the scanString way.
  for (let quotes = 1; ; quotes++) {
    const q = text.indexOf('"', i);
    if (q < 0 || (quotes > 16 && q - start < quotes * 16)) break;
    let k = q - 1;
    while (text.charCodeAt(k) === 92 && q - k < 64) k--;
    if (q - k >= 64) break;
    if (((q - 1 - k) & 1) === 1) {
      i = q + 1;
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(text.slice(start, q + 1));
    } catch {
      break;
    }
    if (typeof value !== 'string' || !isWellFormed(value)) break;
    strLone = -1;
    memberValue = value;
    return q + 1;
  }
  const end = scanString(text, start);
  if (end >= 0) memberValue = JSON.parse(text.slice(start, end)) as string;
  return end;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const isWellFormed: (s: string) => boolean =
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'
    ? (s) => (s as unknown as { isWellFormed(): boolean }).isWellFormed()
    : (s) => !LONE_SURROGATE.test(s);

/**
 * A surrogate code unit at i, written raw (width 1) or as \uXXXX (width 6). A high one takes the
 * low one right after it (raw or escaped) along; anything else is lone, noted in strLone.
 * Returns the position after what it took.
 */
function surrogate(text: string, i: number, unit: number, width: number): number {
  const next = i + width;
  if (unit <= 0xdbff) {
    const c = text.charCodeAt(next);
    if (c >= 0xdc00 && c <= 0xdfff) return next + 1;
    if (c === 92 && text.charCodeAt(next + 1) === 117) {
      const low = hex4(text, next + 2);
      if (low >= 0xdc00 && low <= 0xdfff) return next + 6;
    }
  }
  if (strLone < 0) strLone = i;
  return next;
}

/** The four hex digits at i as a number, or a negative number if one is not a hex digit. */
function hex4(text: string, i: number): number {
  return (hex(text.charCodeAt(i)) << 12) | (hex(text.charCodeAt(i + 1)) << 8) | (hex(text.charCodeAt(i + 2)) << 4) | hex(text.charCodeAt(i + 3));
}

/** A hex digit's value, or a negative number that keeps hex4's result negative. */
function hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 32;
  return l >= 97 && l <= 102 ? l - 87 : -0x10000;
}

function unterminated(start: number): number {
  return fail(`Unterminated string starting at position ${start}`);
}

function fail(message: string): number {
  syntaxMessage = message;
  return -1;
}

/** -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?; returns the end, or -1. What follows is the caller's business. */
function scanNumber(text: string, i: number): number {
  let c = text.charCodeAt(i);
  if (c === 45) c = text.charCodeAt(++i);
  if (c === 48) {
    c = text.charCodeAt(++i);
  } else if (c >= 49 && c <= 57) {
    do c = text.charCodeAt(++i);
    while (c >= 48 && c <= 57);
  } else {
    return fail(missing(text, i, 'No number after minus sign'));
  }
  if (c === 46) {
    c = text.charCodeAt(++i);
    if (!(c >= 48 && c <= 57)) return fail(missing(text, i, 'Unterminated fractional number'));
    do c = text.charCodeAt(++i);
    while (c >= 48 && c <= 57);
  }
  if (c === 101 || c === 69) {
    c = text.charCodeAt(++i);
    if (c === 43 || c === 45) c = text.charCodeAt(++i);
    if (!(c >= 48 && c <= 57)) return fail(missing(text, i, 'Exponent part is missing a number'));
    do c = text.charCodeAt(++i);
    while (c >= 48 && c <= 57);
  }
  return i;
}

function missing(text: string, i: number, what: string): string {
  return i >= text.length ? `Unexpected end of JSON input at position ${i} (${what})` : `${what} at position ${i}`;
}

function literal(text: string, i: number, word: string): number {
  for (let k = 1; k < word.length; k++) {
    if (text.charCodeAt(i + k) !== word.charCodeAt(k)) return fail(unexpected(text, i + k, `'${word}'`));
  }
  return i + word.length;
}

function unexpected(text: string, i: number, expected: string): string {
  if (i >= text.length) return `Unexpected end of JSON input at position ${i} (expected ${expected})`;
  return `Unexpected token ${show(text, i)} at position ${i} (expected ${expected})`;
}

/** One character for a message: printable ASCII as is, anything else as U+XXXX. */
function show(text: string, i: number): string {
  const c = text.codePointAt(i)!;
  return c > 32 && c < 127 ? String.fromCharCode(c) : `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
}

// ---- messages for valid JSON that is refused ----

function duplicate(key: string): ScanFailure {
  return { ok: false, code: 'InvalidRecord', message: `key ${quote(key)} appears twice`, key: cap(key) };
}

function tooDeep(text: string, at: number, parentDepth: number, maxDepth: number, topKey: string | undefined): ScanFailure {
  const where = path(text, parentDepth, maxDepth);
  const failure: ScanFailure = {
    ok: false,
    code: 'InvalidRecord',
    message: `nested deeper than ${shownDepth} levels${where ? ` in ${where}` : ''} at position ${at}`,
  };
  if (topKey !== undefined && parentDepth >= 1) failure.key = cap(topKey);
  return failure;
}

/** `depth` is that of the container holding the string (0: the string is the whole text). */
function lone(text: string, at: number, depth: number, inKey: boolean, maxDepth: number, topKey: string | undefined): ScanFailure {
  const unit = text.charCodeAt(at) === 92 ? text.slice(at, at + 6) : show(text, at);
  const where = path(text, depth, maxDepth);
  const place = inKey ? ` in a key${where ? ` of ${where}` : ''}` : where ? ` in ${where}` : '';
  const failure: ScanFailure = {
    ok: false,
    code: 'InvalidRecord',
    message: `lone surrogate ${unit}${place} at position ${at}: a string must be valid Unicode`,
  };
  if (topKey !== undefined && depth >= 1) failure.key = cap(topKey);
  return failure;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** The path to the current value of the container at `depth`, like body.items[3]["a b"], capped. */
function path(text: string, depth: number, maxDepth: number): string {
  let out = '';
  const last = Math.min(depth, maxDepth);
  for (let d = 1; d <= last; d++) {
    if (out.length > ECHO_MAX) return out.slice(0, ECHO_MAX) + '…';
    const at = info[d]!;
    if (kinds[d] === ARRAY) {
      out += `[${at}]`;
    } else {
      const key = keyAt(text, at);
      out += IDENTIFIER.test(key) ? (d === 1 ? key : `.${key}`) : `[${quote(key)}]`;
    }
  }
  if (depth > last) out += '…';
  return out.length > ECHO_MAX + 1 ? out.slice(0, ECHO_MAX) + '…' : out;
}

/** The decoded key whose opening quote is at `at` (already scanned, so well-formed). */
function keyAt(text: string, at: number): string {
  const saved = [syntaxMessage, strLone, strPlain] as const;
  const end = scanString(text, at);
  const key = end < 0 ? '' : decodeKey(text, at, end);
  [syntaxMessage, strLone, strPlain] = saved;
  return key;
}

/** A key or text for a message: at most ECHO_MAX characters, then an ellipsis. */
function cap(s: string): string {
  if (s.length <= ECHO_MAX) return s;
  const cut = (s.charCodeAt(ECHO_MAX - 1) & 0xfc00) === 0xd800 ? ECHO_MAX - 1 : ECHO_MAX;
  return s.slice(0, cut) + '…';
}

/** A key for a message, JSON-quoted, at most ECHO_MAX characters inside the quotes (escapes count as written). */
function quote(s: string): string {
  let out = '';
  for (const ch of s) {
    const escaped = JSON.stringify(ch).slice(1, -1);
    if (out.length + escaped.length > ECHO_MAX) return `"${out}…"`;
    out += escaped;
  }
  return `"${out}"`;
}
