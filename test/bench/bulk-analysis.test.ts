import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyseBulk, type BatchAnswered, type NotificationRow } from '../../bench/analyse.ts';
import { parseOptions, UsageError } from '../../bench/options.ts';

const measured = { from: 10_000, to: 20_000 };
const batch = (at: number, ms: number, created: number, status = 200): BatchAnswered => ({
  at,
  ms,
  status,
  created,
});
const row = (createdMs: number, sms: string | null, inAppMs: number | null): NotificationRow => ({
  createdMs,
  smsSid: sms,
  inAppMs,
  emailMs: null,
});

test('bulk accepted/s counts the 201 items of each batch for the share of its request time in the window', () => {
  const batches = [
    batch(9_999, 500, 1000), // warm-up: not counted
    batch(10_400, 800, 1000), // half of it inside: 500
    batch(15_000, 600, 900),
    batch(16_000, 5, 0, 503), // refused whole: no items, and its quick answer is not a batch latency
    batch(20_000, 800, 1000), // answered as the load stopped
  ];
  const f = analyseBulk(batches, [], new Map(), ['sms'], measured);
  assert.equal(f.acceptedPerSecond, 240);
  assert.equal(f.batchLatencyMs.count, 3);
  assert.equal(f.batchLatencyMs.p50, 800);
  assert.equal(f.batchLatencyMs.max, 800);
  // The accounting adds up: a window covering every batch counts every created item once.
  const all = analyseBulk(batches, [], new Map(), ['sms'], { from: 0, to: 100_000 });
  assert.equal(all.acceptedPerSecond * 100, 3900);
});

test('the bulk drain runs from the first accept to the last channel done, and counts the never completed', () => {
  const receipts = new Map([
    ['SM1', 12_000],
    ['SM2', 30_000],
    ['SM3', 14_000],
  ]);
  const rows = [
    row(10_000, 'SM1', 11_000),
    row(10_500, 'SM2', 12_000),
    row(11_000, 'SM3', 40_000), // in-app last: the notification completes at 40 s
    row(11_500, 'SM4', 12_000), // the sandbox never got this SMS
    row(12_000, null, null),
  ];
  const f = analyseBulk([], rows, receipts, ['sms', 'in_app'], measured);
  assert.deepEqual(f.drain, { notifications: 3, seconds: 30, perSecond: 0.1, incomplete: 2 });
  const smsOnly = analyseBulk([], rows, receipts, ['sms'], measured);
  assert.deepEqual(smsOnly.drain, { notifications: 3, seconds: 20, perSecond: 0.15, incomplete: 2 });
});

test('a bulk phase with nothing stored drains nothing instead of dividing by zero', () => {
  const f = analyseBulk([batch(12_000, 30, 0, 503)], [], new Map(), ['sms'], measured);
  assert.deepEqual(f.drain, { notifications: 0, seconds: 0, perSecond: 0, incomplete: 0 });
  assert.equal(f.acceptedPerSecond, 0);
  assert.equal(f.batchLatencyMs.count, 0);
});

test('the bulk options default to the phase duration, 1,000 per batch, 4 in flight, and 0 s skips the phase', () => {
  const o = parseOptions(['--duration', '7'], {});
  assert.ok(o !== 'help');
  assert.deepEqual([o.bulkDuration, o.batchSize, o.bulkConcurrency], [7, 1000, 4]);
  const set = parseOptions(['--bulk-duration', '0', '--batch-size', '250', '--bulk-concurrency', '2'], {});
  assert.ok(set !== 'help');
  assert.deepEqual([set.bulkDuration, set.batchSize, set.bulkConcurrency], [0, 250, 2]);
});

test('a batch size the API would refuse is a usage error before anything runs', () => {
  for (const size of ['1001', '0', '2.5', 'many'])
    assert.throws(() => parseOptions(['--batch-size', size], {}), UsageError, size);
  assert.throws(() => parseOptions(['--bulk-concurrency', '0'], {}), UsageError);
});
