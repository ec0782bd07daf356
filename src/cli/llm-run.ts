// A run's LLM pieces, set up from its options: the decoder of prompts or batch-file lines, the
// answer reader (llm/job.ts) with the run's figures, and those figures for --stats and --stats-json.
import { MAX_BODY_BYTES } from '../constants.js';
import { batchDecoder } from '../core/formats/batch-input.js';
import { createLlmJob, type LlmJob } from '../core/llm/job.js';
import { LlmStats, formatLlmStats, type LlmStatsSnapshot } from '../core/llm/llm-stats.js';
import { promptBody, promptDecoder } from '../core/llm/prompt.js';
import type { DecodeOptions } from '../core/records.js';
import type { Summary } from '../core/summary.js';
import type { Options } from './args.js';

/** The decode options of --prompt and --input-format. */
export function llmDecode(opts: Options): Pick<DecodeOptions, 'custom' | 'prompt'> {
  const prompt = opts.prompt;
  if (prompt !== undefined && opts.envelope) return { prompt: (text, stream) => promptBody(text, prompt, stream) };
  if (prompt !== undefined) {
    const decode = promptDecoder(prompt, opts.defaults, MAX_BODY_BYTES);
    return { custom: (text, line) => decode(text, line, opts.stream) };
  }
  if (opts.inputFormat !== undefined) return { custom: batchDecoder(opts.inputFormat, opts.defaults) };
  return {};
}

/** --llm: the answer reader; its figures go to `r.llmStats`. */
export function llmJob(r: { opts: Options; summary: Summary; llmStats?: LlmStats | undefined }): LlmJob | undefined {
  if (r.opts.llm === undefined) return undefined;
  r.llmStats = new LlmStats();
  return createLlmJob(r.opts.llm, r.llmStats, r.summary);
}

export function llmStatsLines(r: { llmStats?: LlmStats | undefined }, wallMs: number): string[] {
  return r.llmStats ? formatLlmStats(r.llmStats.snapshot(wallMs)) : [];
}

export function llmStatsJson(r: { llmStats?: LlmStats | undefined }, wallMs: number): LlmStatsSnapshot | null {
  return r.llmStats ? r.llmStats.snapshot(wallMs) : null;
}
