import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeliveryJob, SendResult } from '../../src/channels/channel.ts';
import { toCompletion } from '../../src/deliveries/outcome.ts';
import type { RetryPolicy } from '../../src/deliveries/retry-policy.ts';
import { TRANSITIONS } from '../../src/deliveries/state-machine.ts';

// 4 attempts, then up to 2 lookup-only attempts (5 and 6).
const policy: RetryPolicy = { maxAttempts: 4, maxLookups: 2, baseDelayMs: 1000, factor: 1, maxDelayMs: 1000 };
const now = new Date('2026-12-01T10:00:00Z');
const job = (attempt: number) => ({ deliveryId: '1', attempt }) as DeliveryJob;
const sent = (delivered: boolean): SendResult => ({ kind: 'sent', providerMessageId: 'SM1', delivered });
const retryable = (outcomeUnknown: boolean): SendResult => ({
  kind: 'retryable',
  code: 'NETWORK',
  message: 'x',
  outcomeUnknown,
});

// Each answer of a channel, at each point of the budget: the event and the status it leads to
// (the statuses are what the worker wrote before the table existed).
const cases: Array<[string, number, SendResult, string, string]> = [
  ['sent', 1, sent(false), 'send_ok', 'sent'],
  ['delivered at once', 1, sent(true), 'send_delivered', 'delivered'],
  ['retryable, attempts left', 1, retryable(true), 'send_retry', 'queued'],
  ['unknown on the last attempt', 4, retryable(true), 'send_exhausted_unknown', 'queued'],
  ['refused on the last attempt', 4, retryable(false), 'send_exhausted', 'failed'],
  ['permanent', 2, { kind: 'permanent', code: '21211', message: 'x' }, 'send_permanent', 'failed'],
  ['skipped', 1, { kind: 'skipped', reason: 'no_phone', message: 'x' }, 'send_skipped', 'skipped'],
  ['lookup finds it', 5, sent(false), 'lookup_adopt', 'sent'],
  ['lookup finds it delivered', 5, sent(true), 'lookup_adopt_delivered', 'delivered'],
  [
    'lookup: no such message',
    5,
    { kind: 'permanent', code: 'NOT_SENT', message: 'x' },
    'lookup_none',
    'failed',
  ],
  ['lookup failed, lookups left', 5, retryable(true), 'lookup_retry', 'queued'],
  ['lookup failed, lookups spent', 6, retryable(true), 'lookup_exhausted', 'failed'],
];

for (const [what, attempt, result, event, status] of cases) {
  test(`${what}: ${event} → ${status}`, () => {
    const c = toCompletion(job(attempt), result, policy, now);
    assert.equal(c.event, event);
    assert.equal(TRANSITIONS[c.event].to, status);
    assert.equal(TRANSITIONS[c.event].by, 'lc_complete_deliveries');
  });
}

test("an attempt's rendered content is kept in the details, whatever its outcome", () => {
  const content = { body: 'Order #LC1 confirmed' };
  const details = (r: SendResult) => toCompletion(job(1), r, policy, now).details;
  assert.deepEqual(details({ kind: 'sent', details: { segments: 1 }, content }), { segments: 1, content });
  assert.deepEqual(details({ kind: 'sent', content }), { content });
  assert.equal(details({ kind: 'sent' }), null);
  const unknown: SendResult = {
    kind: 'retryable',
    code: 'NETWORK',
    message: 'x',
    outcomeUnknown: true,
    content,
  };
  assert.deepEqual(details(unknown), { outcome_unknown: true, content });
  assert.deepEqual(details({ kind: 'permanent', code: '21211', message: 'x', content }), { content });
  assert.equal(details({ kind: 'permanent', code: '21211', message: 'x' }), null);
});
