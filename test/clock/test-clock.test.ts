import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TestClock } from '../../src/clock.ts';

test('a test clock fires the timers that fall due as it is stepped, in due order, each at its own instant', () => {
  const clock = new TestClock(1_000);
  const fired: Array<[string, number]> = [];
  clock.setTimeout(() => fired.push(['b', clock.now()]), 200);
  clock.setTimeout(() => fired.push(['a', clock.now()]), 100);
  const cancel = clock.setTimeout(() => fired.push(['cancelled', clock.now()]), 150);
  // A timer set by a firing one is honoured within the same step when it falls due in it.
  clock.setTimeout(() => clock.setTimeout(() => fired.push(['chained', clock.now()]), 50), 120);
  cancel();
  clock.advance(99);
  assert.deepEqual(fired, []);
  clock.advance(201);
  assert.deepEqual(fired, [
    ['a', 1_100],
    ['chained', 1_170],
    ['b', 1_200],
  ]);
  assert.equal(clock.now(), 1_300);
  assert.deepEqual(clock.sqlNow(), new Date(1_300));
});
