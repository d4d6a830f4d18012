import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyPushStatus, retryAfterMs } from '../../src/channels/push/push-errors.ts';

test('push service answers are classified: gone, retried, or permanent', () => {
  const cases: Array<[number, string, string | undefined]> = [
    [201, 'accepted', undefined],
    [404, 'gone', 'PUSH_SUBSCRIPTION_GONE'],
    [410, 'gone', 'PUSH_SUBSCRIPTION_GONE'],
    [429, 'retryable', 'PUSH_RATE_LIMITED'],
    [500, 'retryable', 'PUSH_SERVICE_ERROR'],
    [503, 'retryable', 'PUSH_SERVICE_ERROR'],
    [413, 'permanent', 'PUSH_PAYLOAD_TOO_LARGE'],
    [401, 'permanent', 'PUSH_UNAUTHORIZED'],
    [403, 'permanent', 'PUSH_UNAUTHORIZED'],
    [400, 'permanent', 'PUSH_REJECTED'],
  ];
  for (const [status, kind, code] of cases) {
    const outcome = classifyPushStatus(status);
    assert.equal(outcome.kind, kind, String(status));
    assert.equal('code' in outcome ? outcome.code : undefined, code, String(status));
  }
});

test('Retry-After is read as seconds or as an HTTP date', () => {
  const now = Date.parse('2026-01-03T10:00:00Z');
  assert.equal(retryAfterMs('120', now), 120_000);
  assert.equal(retryAfterMs('Sat, 03 Jan 2026 10:01:00 GMT', now), 60_000);
  assert.equal(retryAfterMs(null, now), undefined);
  assert.equal(retryAfterMs('soon', now), undefined);
});
