// The byte bound for buffered answers (issue 19, "Memory"): the ordered map (ordered-map.ts) only
// guesses a running record's answer from its input until results arrive, so without this each of
// --concurrency large answers was read in full behind a stalled record. Here the transport asks
// before it reads: an answer's bytes count (with streams being received, StreamMemory.live) while
// it is received, then as its result in the ordered map until written. With no room, reading stops
// (TCP holds the rest) until a result is written or an answer given back; the record the ordered
// output waits for always reads, so memory stays within the bound plus about one answer.
import type { BodyBudget } from '../wire.js';
import type { StreamMemory } from './stream-invoke.js';

export class AnswerBudget implements BodyBudget {
  /** Started units in order, as the input lines they cover ([first, last]); the first not yet written is the head. */
  #first: number[] = [];
  #last: number[] = [];
  #head = 0;
  #waiters: Array<() => void> = [];
  #waking = false;

  constructor(
    readonly maxBytes: number,
    /** Bytes of answers and streams being received (the ordered map counts them with its own). */
    readonly memory: StreamMemory,
    /** The ordered map's bytes: results waiting to be written, inputs of records running. */
    readonly held: () => number,
  ) {}

  /** A unit (record, batch, kept line) started, in source order; lines [first, last] (none: NaN). */
  started(first: number, last: number): void {
    this.#first.push(first);
    this.#last.push(last);
  }

  /** The ordered map let go of its oldest unit: the next one is the head; room may have come. */
  consumed(): void {
    this.#head++;
    // Drop written units now and then (not on every one: an array shift per record).
    if (this.#head >= 1024 && this.#head * 2 >= this.#first.length) {
      this.#first.splice(0, this.#head);
      this.#last.splice(0, this.#head);
      this.#head = 0;
    }
    if (this.#waiters.length > 0) this.#wake();
  }

  room(line: number, n: number): boolean {
    if (this.held() + this.memory.live + n <= this.maxBytes) return true;
    const h = this.#head;
    return h < this.#first.length && line >= this.#first[h]! && line <= this.#last[h]!;
  }

  add(n: number): void {
    this.memory.live += n;
    if (n < 0 && this.#waiters.length > 0) this.#wake();
  }

  wait(resume: () => void): void {
    this.#waiters.push(resume);
  }

  /** Every waiter tries again, on a later turn (undici's parser must not be resumed from inside another's callback). */
  #wake(): void {
    if (this.#waking) return;
    this.#waking = true;
    setImmediate(() => {
      this.#waking = false;
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const w of waiters) w();
    });
  }
}
