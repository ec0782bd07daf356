// The budget answers are read against (core/answer-budget.ts): room while under the bound, always
// for the oldest unit's lines, waiters woken when bytes come back or the head moves on.
import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { AnswerBudget } from '../../../src/core/answer-budget.js';

describe('AnswerBudget', () => {
  test('room under the bound; over it only for the head unit (a record, or a batch by its lines)', () => {
    const memory = { live: 0 };
    let held = 0;
    const b = new AnswerBudget(100, memory, () => held);
    b.started(1, 1);
    b.started(Number.NaN, Number.NaN); // a kept line
    b.started(3, 5); // a batch of lines 3-5
    assert.equal(b.room(3, 100), true);
    b.add(60);
    held = 30;
    assert.equal(memory.live, 60);
    assert.equal(b.room(3, 10), true);
    assert.equal(b.room(3, 11), false);
    assert.equal(b.room(1, 1000), true, 'the head always has room');
    b.consumed();
    assert.equal(b.room(4, 11), false, 'a kept line heads: no record gets the exception');
    b.consumed();
    assert.equal(b.room(4, 1000), true, 'any line of the head batch');
    assert.equal(b.room(6, 11), false);
  });

  test('waiters try again on a later turn when bytes come back or the head moves on, once each', async () => {
    const b = new AnswerBudget(10, { live: 0 }, () => 0);
    b.started(1, 1);
    b.started(2, 2);
    b.add(10);
    let woken = 0;
    b.wait(() => woken++);
    b.add(5); // more bytes in: no wake
    await turn();
    assert.equal(woken, 0);
    b.add(-15);
    assert.equal(woken, 0, 'never from inside the caller (an undici parser callback)');
    await turn();
    assert.equal(woken, 1);
    b.wait(() => woken++);
    b.consumed();
    await turn();
    assert.equal(woken, 2);
    b.add(-1);
    await turn();
    assert.equal(woken, 2, 'a waiter is called once');
  });

  test('the head is still known after written units are dropped (100000 of them)', () => {
    const b = new AnswerBudget(10, { live: 0 }, () => 0);
    for (let i = 1; i <= 100_000; i++) {
      b.started(i, i);
      b.add(100);
      assert.equal(b.room(i, 1), true);
      b.add(-100);
      b.consumed();
    }
    b.started(100_001, 100_001);
    b.add(100);
    assert.equal(b.room(100_001, 1), true, 'the head after many units is still known');
    assert.equal(b.room(100_002, 1), false);
  });
});
