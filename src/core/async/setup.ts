// What a run hands the pipeline for --async, and the unit made from it with the pipeline's own
// clock, cancel signal and invoker.
import type { ObjectStore } from '../../aws/s3.js';
import type { FatalError } from '../../errors.js';
import type { Summary } from '../summary.js';
import type { Journal } from './journal.js';
import { createAsyncUnit as create, type AsyncOptions, type AsyncUnit, type InvokerHooks, type Invoke } from './unit.js';

export type { AsyncOptions, AsyncUnit } from './unit.js';

export interface AsyncSetup {
  opts: AsyncOptions;
  store: ObjectStore;
  journal: Journal;
}

export interface PipelineSide {
  makeInvoker: (hooks: InvokerHooks) => Invoke;
  summary: Summary;
  now: () => number;
  random: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  cancel: AbortSignal;
  warn: (line: string) => void;
  onFatal: (err: FatalError) => void;
  /** Aborted when the run stops taking records (a signal, --max-errors): nothing more is submitted. */
  stopSubmitting: AbortSignal;
  /** Submissions in flight at most (--concurrency). */
  concurrency: number;
}

export function createAsyncUnit(setup: AsyncSetup, side: PipelineSide): AsyncUnit {
  return create({ ...setup, ...side });
}
