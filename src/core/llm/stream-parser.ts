// Pure: a streamed LLM answer read as its bytes arrive, whatever the parts' boundaries (an event may
// span parts, a part may hold many events, a UTF-8 character may be cut): bytes are kept until a
// line ends, and only whole lines are decoded. Two framings: Server-Sent Events (TGI, OpenAI, LMI's
// sse formatter: `data:` lines, a blank line ends an event, `:` comments) and JSON lines (LMI's
// default). Each token event's arrival (the part that completed its line) is the token clock:
// time to first token is the first token event's, never the first byte's (an SSE comment, a role
// chunk or `[DONE]` is no token).
import { EventReader, familyOf, mismatch, schemaOf, preview, type Family } from './events.js';
import { tokenTiming } from './timing.js';
import { llmInfo, type LlmInfo, type LlmOutcome, type LlmProblem, type LlmSchema } from './types.js';

const NL = 0x0a;
const CR = 0x0d;

export class StreamParser {
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #framing: 'sse' | 'lines' | undefined;
  #data: string[] = [];
  #dataAt = 0;
  #reader: EventReader | undefined;
  #problem: LlmProblem | undefined;
  #lastAt = 0;
  #events = 0;
  /** Arrival of each token event, ms on the stream's clock. */
  readonly tokenTimes: number[] = [];

  constructor(readonly asked: LlmSchema) {}

  /** One part's bytes (kept only until their lines are complete) and when it arrived. */
  push(bytes: Uint8Array, atMs: number): void {
    this.#lastAt = atMs;
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let start = 0;
    for (let nl = buf.indexOf(NL); nl !== -1; nl = buf.indexOf(NL, start)) {
      if (this.#pendingBytes > 0) {
        this.#pending.push(buf.subarray(start, nl));
        const line = Buffer.concat(this.#pending, this.#pendingBytes + nl - start);
        this.#pending = [];
        this.#pendingBytes = 0;
        this.#line(line, 0, line.length, atMs);
      } else this.#line(buf, start, nl, atMs);
      start = nl + 1;
    }
    if (start < buf.length) {
      // (copied: the caller's part may be reused)
      const rest = Buffer.from(buf.subarray(start));
      this.#pending.push(rest);
      this.#pendingBytes += rest.length;
    }
  }

  /**
   * The whole stream at once: its bytes (the parts' concatenation) and each part's end offset and
   * arrival, in order. The same reading as pushing the parts one by one (each line's time is that of
   * the part holding its last byte), in one pass over bytes already in memory: --llm records the
   * parts' arrivals as they come and reads the answer when the stream is complete (on a loaded
   * client, JSON between network reads cost 3-6x the CPU of the same work in one loop).
   */
  pushWhole(body: Uint8Array, partEnds: readonly number[], partTimes: readonly number[]): void {
    const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    let part = 0;
    const timeAt = (offset: number): number => {
      while (part < partEnds.length - 1 && partEnds[part]! <= offset) part++;
      return partTimes[part] ?? 0;
    };
    if (partTimes.length > 0) this.#lastAt = partTimes[partTimes.length - 1]!;
    let start = 0;
    for (let nl = buf.indexOf(NL); nl !== -1; nl = buf.indexOf(NL, start)) {
      this.#line(buf, start, nl, timeAt(nl));
      start = nl + 1;
    }
    if (start < buf.length) {
      const rest = Buffer.from(buf.subarray(start));
      this.#pending.push(rest);
      this.#pendingBytes += rest.length;
    }
  }

  /** The stream ended (complete): a last line without a newline and an unterminated event count too. */
  end(e2eMs: number): { outcome: LlmOutcome; info: LlmInfo | undefined } {
    if (this.#pendingBytes > 0) {
      const last = Buffer.concat(this.#pending, this.#pendingBytes);
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#line(last, 0, last.length, this.#lastAt);
    }
    this.#dispatch();
    const reader = this.#reader;
    if (reader === undefined) {
      const problem = this.#problem ?? { code: 'LlmShapeError' as const, message: `not ${this.#what()}: the stream held no event (${this.#events} events)` };
      return { outcome: { ok: false, problem }, info: undefined };
    }
    const reading = reader.reading(schemaOf(reader.family, this.asked, this.#framing ?? 'lines'), true);
    const info = llmInfo(reading, tokenTiming(this.tokenTimes, reading.outputTokens, e2eMs));
    const problem = this.#problem ?? reader.problem;
    return { outcome: problem ? { ok: false, problem, reading } : { ok: true, reading }, info };
  }

  #what(): string {
    return this.asked === 'auto' ? 'a TGI, LMI or OpenAI stream' : `--llm ${this.asked}'s stream`;
  }

  /** The line buf[start, end) (its CR, if any, not part of it); decoded only past its field name. */
  #line(buf: Buffer, start: number, endAt: number, atMs: number): void {
    const end = endAt > start && buf[endAt - 1] === CR ? endAt - 1 : endAt;
    if (this.#framing === undefined) {
      if (end === start || isSpace(buf, start, end)) return;
      // SSE: a field line (`data:`, `event:`, `id:`, `retry:`) or a comment; anything else is a JSON line.
      this.#framing = buf[start] === 0x3a || /^(data|event|id|retry)(:|$)/.test(buf.toString('latin1', start, Math.min(start + 6, end))) ? 'sse' : 'lines';
    }
    if (this.#framing === 'lines') {
      if (end === start || isSpace(buf, start, end)) return;
      // (LMI writes `data:` before each JSON line in its SSE mode; a JSON-lines reader takes it too.)
      this.#event(buf.toString('utf8', isData(buf, start, end) ? start + 5 : start, end), atMs);
      return;
    }
    if (end === start) {
      this.#dispatch();
      return;
    }
    if (buf[start] === 0x3a) return; // comment (keep-alive)
    let value: string;
    if (isData(buf, start, end)) {
      // (the common case, decoded once: the value after `data:` and its optional space)
      value = buf.toString('utf8', buf[start + 5] === 0x20 ? start + 6 : start + 5, end);
    } else {
      const text = buf.toString('utf8', start, end);
      const colon = text.indexOf(':');
      if ((colon === -1 ? text : text.slice(0, colon)) !== 'data') return; // event, id, retry
      value = colon === -1 ? '' : text.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
    }
    if (this.#data.length === 0 && value.charCodeAt(0) === 0x7b) {
      // One JSON document per data line, as every container writes them: taken at once (LMI's sse
      // formatter leaves out the blank line between events). Multi-line data waits for its blank line.
      const ev = tryParse(value);
      if (ev !== undefined) {
        this.#events++;
        this.#value(ev, atMs);
        return;
      }
    }
    this.#data.push(value);
    this.#dataAt = atMs;
  }

  #dispatch(): void {
    if (this.#data.length === 0) return;
    const data = this.#data.length === 1 ? this.#data[0]! : this.#data.join('\n');
    this.#data = [];
    this.#event(data, this.#dataAt);
  }

  #event(text: string, atMs: number): void {
    this.#events++;
    const t = text.trim();
    if (t === '[DONE]' || t === '') return;
    const ev = tryParse(t);
    if (ev === undefined) {
      this.#problem ??= { code: 'LlmShapeError', message: `not ${this.#what()}: event ${this.#events} is not JSON: ${preview(t)}` };
      return;
    }
    this.#value(ev, atMs);
  }

  #value(ev: unknown, atMs: number): void {
    if (this.#reader === undefined) {
      const family: Family | undefined = familyOf(ev);
      if (family === undefined) {
        this.#problem ??= {
          code: 'LlmShapeError',
          message: `not ${this.#what()}: event ${this.#events} has no token, choices or generated_text: ${preview(ev)}`,
        };
        return;
      }
      const wrong = mismatch(this.asked, family);
      if (wrong) this.#problem ??= wrong;
      this.#reader = new EventReader(family);
    }
    if (this.#reader.take(ev)) this.tokenTimes.push(atMs);
  }
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isSpace(b: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x09 && c !== CR) return false;
  }
  return true;
}

/** buf[start, end) begins with `data:`. */
function isData(b: Buffer, start: number, end: number): boolean {
  return end - start >= 5 && b[start] === 0x64 && b[start + 1] === 0x61 && b[start + 2] === 0x74 && b[start + 3] === 0x61 && b[start + 4] === 0x3a;
}
