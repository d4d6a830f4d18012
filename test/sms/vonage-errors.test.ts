import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SMSStatus } from '@vonage/sms';
import { describeDeliveryError } from '../../src/channels/delivery-error-info.ts';
import { classifyOutcome } from '../../src/channels/sms/routing/provider-answer.ts';
import {
  parseVonageErrorCode,
  VONAGE_RECEIPT_ERRORS,
  VONAGE_SEND_STATUSES,
  vonageSendStatus,
} from '../../src/channels/sms/vonage/vonage-errors.ts';
import { RECEIPT_ERR_CODES, SEND_STATUSES } from '../../src/sandbox/vonage/errors.ts';

test("every status the SDK names, and every code the sandbox sends, is in Vonage's tables", () => {
  const sdk = Object.values(SMSStatus)
    .map(Number)
    .filter((s) => s !== 0);
  const sandbox = Object.keys(SEND_STATUSES)
    .map(Number)
    .filter((s) => s !== 0);
  assert.deepEqual(
    [...new Set([...sdk, ...sandbox])].filter((s) => !Object.hasOwn(VONAGE_SEND_STATUSES, s)),
    [],
  );
  const receipts = Object.keys(RECEIPT_ERR_CODES)
    .map(Number)
    .filter((c) => c !== 0);
  assert.deepEqual(
    receipts.filter((c) => !Object.hasOwn(VONAGE_RECEIPT_ERRORS, c)),
    [],
  );
});

test('send statuses say what the routing may do: fail over now, reconcile first, or not at all', () => {
  const outcome = (status: number) => classifyOutcome(vonageSendStatus(status).answer);
  assert.deepEqual(
    [1, 4, 5, 6, 7, 9, 15, 29, 33, 77].map((s) => [s, outcome(s)]),
    [
      [1, 'known-refusal'],
      [4, 'known-refusal'],
      [5, 'unknown'],
      [6, 'permanent-recipient'],
      [7, 'permanent-recipient'],
      [9, 'known-refusal'],
      [15, 'known-refusal'],
      [29, 'known-refusal'],
      [33, 'permanent-recipient'],
      [77, 'known-refusal'],
    ],
  );
});

test("Vonage codes are described from the SMS channel's tables, with Vonage's pages", () => {
  const auth = describeDeliveryError('sms', 'VONAGE_4');
  assert.deepEqual(
    [auth.class, auth.known, auth.docs],
    ['permanent', true, 'https://developer.vonage.com/en/messaging/sms/guides/troubleshooting-sms'],
  );
  assert.match(auth.meaning, /^Vonage status 4: Invalid credentials/);
  const absent = describeDeliveryError('sms', 'VONAGE_DLR_2');
  assert.deepEqual([absent.class, absent.known], ['retryable', true]);
  assert.match(absent.meaning, /^Vonage receipt error 2: Absent subscriber/);
  assert.equal(describeDeliveryError('sms', 'VONAGE_77').known, false);
  assert.equal(describeDeliveryError('email', 'VONAGE_4').known, false, 'an SMS code only');
  assert.deepEqual(parseVonageErrorCode('VONAGE_DLR_52'), { table: 'receipt', number: 52 });
  assert.equal(parseVonageErrorCode('VONAGE_0'), undefined);
  assert.equal(parseVonageErrorCode('30003'), undefined, "Twilio's codes stay Twilio's");
});
