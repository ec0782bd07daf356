// --llm over a run: a streamed record's parts are clocked as they arrive (the streaming unit's part
// observer: each part's end in the body and its arrival); when the record's result is in, its answer
// is read (the stream's events with those arrivals, or the whole body in its schema) and the result
// gets `llm`. An answer that is not the schema's
// shape, or that carries the container's error inside a 200 (LMI's error token), fails its record
// (the body is kept, so nothing is lost). --llm-body none drops the raw body of a record read well.
import type { PartObserver } from '../stream-invoke.js';
import type { GoodRecord } from '../records.js';
import type { Result } from '../result-format.js';
import type { Summary } from '../summary.js';
import { readAnswer } from './answer.js';
import type { LlmStats } from './llm-stats.js';
import { StreamParser } from './stream-parser.js';
import { unstreamedRate } from './timing.js';
import { llmInfo, type LlmInfo, type LlmOutcome, type LlmSchema } from './types.js';

export interface LlmSettings {
  schema: LlmSchema;
  /** false: --llm-body none. */
  keepBody: boolean;
}

export interface LlmJob {
  /** The part observer of a streamed record (one parser per attempt: a new attempt starts over). */
  observe(rec: GoodRecord): PartObserver;
  /** The record's result with its `llm` reading (or its LlmError / LlmShapeError). */
  finish(rec: GoodRecord, r: Result): Result;
}

/** A streamed attempt's parts: where each ends in the body and when it arrived. */
interface PartClock {
  ends: number[];
  times: number[];
  bytes: number;
}

export function createLlmJob(settings: LlmSettings, stats: LlmStats, summary: Summary): LlmJob {
  const clocks = new WeakMap<GoodRecord, PartClock>();
  return {
    observe(rec) {
      let clock: PartClock = { ends: [], times: [], bytes: 0 };
      return {
        onStart: () => {
          clock = { ends: [], times: [], bytes: 0 }; // a new attempt starts over
          clocks.set(rec, clock);
        },
        onPart: (bytes, atMs) => {
          clock.bytes += bytes.length;
          clock.ends.push(clock.bytes);
          clock.times.push(atMs);
        },
      };
    },
    finish(rec, r) {
      const clock = clocks.get(rec);
      clocks.delete(rec);
      if (!r.ok || r.body === undefined) return r;
      let outcome: LlmOutcome;
      let info: LlmInfo | undefined;
      if (r.stream !== undefined && clock !== undefined && clock.bytes === r.body.length) {
        // The body is the parts' concatenation: read it with each part's arrival (stream-parser.ts).
        const parser = new StreamParser(settings.schema);
        parser.pushWhole(r.body, clock.ends, clock.times);
        ({ outcome, info } = parser.end(r.latencyMs ?? 0));
      } else if (isEventStream(r.contentType, r.body)) {
        // A container asked to stream ("stream": true) answers InvokeEndpoint with its whole event
        // stream: read as one, with no token timing (it arrived at once).
        const whole = new StreamParser(settings.schema);
        whole.push(r.body, 0);
        ({ outcome, info } = whole.end(r.latencyMs ?? 0));
        if (info !== undefined) info = { ...info, ttftMs: null, itlMs: null };
      } else {
        outcome = readAnswer(r.body, settings.schema);
        const reading = outcome.reading;
        if (reading) info = llmInfo(reading, { ttftMs: null, itlMs: null, tokensPerSecond: unstreamedRate(reading.outputTokens, r.latencyMs ?? 0) });
      }
      if (info !== undefined) r.llm = info;
      if (!outcome.ok) {
        summary.ok--; // (counted when the answer came; it fails now: the writer counts the failure)
        r.ok = false;
        r.error = { code: outcome.problem.code, message: outcome.problem.message };
        return r;
      }
      stats.add(info!, r.latencyMs);
      if (!settings.keepBody) delete r.body;
      return r;
    },
  };
}

const STREAM_TYPES = /^(text\/event-stream|application\/(jsonlines|x-ndjson|jsonl|x-jsonlines))\s*(;|$)/i;

/** A whole body that is an event stream (its type, or SSE's `data:` opening). */
function isEventStream(contentType: string | undefined, body: Buffer): boolean {
  if (contentType !== undefined && STREAM_TYPES.test(contentType)) return true;
  return body.length >= 5 && body.toString('latin1', 0, 5) === 'data:';
}
