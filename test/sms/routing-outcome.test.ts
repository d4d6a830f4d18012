import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  classifyOutcome,
  type DeliveryOutcome,
  type ProviderAnswer,
  type RequestOutcome,
  requestOutcome,
} from '../../src/channels/sms/routing/provider-answer.ts';

const cases: Array<[string, ProviderAnswer, DeliveryOutcome, RequestOutcome]> = [
  ['accepted', { result: 'accepted' }, 'ok', 'ok'],
  ['connection refused: nothing sent', { result: 'not-reached' }, 'known-refusal', 'connection_refused'],
  ['auth error', { result: 'refused', refusal: 'auth' }, 'known-refusal', 'auth_error'],
  ['429', { result: 'refused', refusal: 'throttled' }, 'known-refusal', 'throttled'],
  ['another refusal (region not enabled)', { result: 'refused', refusal: 'other' }, 'known-refusal', 'error'],
  [
    'invalid number, landline, opted out',
    { result: 'refused', refusal: 'recipient' },
    'permanent-recipient',
    'recipient_error',
  ],
  ['5xx: may have sent', { result: 'server-error' }, 'unknown', 'server_error'],
  ['timeout or dropped connection: may have sent', { result: 'no-answer' }, 'unknown', 'timeout'],
];

for (const [name, answer, delivery, health] of cases) {
  test(`${name}: the delivery ${delivery}, the health counts ${health}`, () => {
    assert.equal(classifyOutcome(answer), delivery);
    assert.equal(requestOutcome(answer), health);
  });
}
