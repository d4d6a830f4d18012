import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  classifyTwilioError,
  describeTwilioError,
  isFinalFailureStatus,
  parseTwilioErrorCode,
  type TwilioErrorClass,
  twilioAnswer,
  twilioErrorMessage,
} from '../../src/channels/sms/twilio-errors.ts';

const KNOWN: Record<TwilioErrorClass, number[]> = {
  retryable: [20429, 30001, 30003, 30008, 30009, 21611],
  permanent: [
    20003, 21211, 21408, 21606, 21608, 21612, 21614, 30002, 30004, 30005, 30006, 30007, 30010, 30032, 30034,
  ],
  opted_out: [21610],
};

describe('classifyTwilioError', () => {
  for (const [kind, codes] of Object.entries(KNOWN)) {
    for (const code of codes) {
      test(`${code} is ${kind}, whatever the HTTP status`, () => {
        assert.equal(classifyTwilioError(code), kind);
        assert.equal(classifyTwilioError(code, 400), kind);
        assert.equal(classifyTwilioError(code, 503), kind);
      });
    }
  }

  const fallbacks: Array<[number | null | undefined, number | undefined, TwilioErrorClass]> = [
    [null, undefined, 'retryable'],
    [undefined, undefined, 'retryable'],
    [99999, undefined, 'retryable'],
    [99999, 0, 'retryable'],
    [99999, 500, 'retryable'],
    [null, 502, 'retryable'],
    [99999, 408, 'retryable'],
    [null, 429, 'retryable'],
    [99999, 400, 'permanent'],
    [null, 404, 'permanent'],
    [99999, 422, 'permanent'],
  ];
  for (const [code, status, kind] of fallbacks) {
    test(`unknown code ${code} with HTTP ${status ?? 'none (network)'} is ${kind}`, () => {
      assert.equal(classifyTwilioError(code, status), kind);
    });
  }
});

describe('describeTwilioError', () => {
  test('every classified code has its own description', () => {
    const codes = Object.values(KNOWN).flat();
    const texts = codes.map(describeTwilioError);
    for (const [i, text] of texts.entries()) assert.doesNotMatch(text, /^Twilio error/, String(codes[i]));
    assert.equal(new Set(texts).size, codes.length);
  });

  test('names the code when unknown and says when there is none', () => {
    assert.equal(describeTwilioError(99999), 'Twilio error 99999');
    assert.match(describeTwilioError(null), /network/);
    assert.match(describeTwilioError(21610), /STOP/);
  });
});

describe('isFinalFailureStatus', () => {
  const cases: Array<[string, boolean]> = [
    ['failed', true],
    ['undelivered', true],
    ['delivered', false],
    ['sent', false],
    ['queued', false],
    ['canceled', false],
    ['FAILED', false],
  ];
  for (const [status, final] of cases) {
    test(`${status} → ${final}`, () => assert.equal(isFinalFailureStatus(status), final));
  }
});

describe('error codes and texts as stored', () => {
  test("a callback's ErrorCode becomes Twilio's integer; absent, 0 or junk is none", () => {
    assert.strictEqual(parseTwilioErrorCode('30003'), 30003);
    for (const raw of [undefined, null, '', '0', '030003', '3e4', ' 30003', '99999999999'])
      assert.strictEqual(parseTwilioErrorCode(raw), null, String(raw));
  });
  test("Twilio's own text when it gave one, the table's otherwise", () => {
    assert.equal(twilioErrorMessage(30005), 'Twilio error 30005: Unknown destination handset');
    assert.equal(twilioErrorMessage(30005, 'Unknown handset'), 'Twilio error 30005: Unknown handset');
    assert.equal(twilioErrorMessage(30005, null), 'Twilio error 30005: Unknown destination handset');
  });
});

describe('twilioAnswer (what a failed create says to the routing)', () => {
  test('no answer: a refused connection reached nothing, a timeout or dropped connection may have sent', () => {
    assert.deepEqual(twilioAnswer(null, null, 'ECONNREFUSED'), { result: 'not-reached' });
    assert.deepEqual(twilioAnswer(null, null, 'ECONNABORTED'), { result: 'no-answer' });
    assert.deepEqual(twilioAnswer(null, null, undefined), { result: 'no-answer' });
  });
  test('answers: 5xx in doubt; the number, the account and throttling refused, each by its kind', () => {
    assert.deepEqual(twilioAnswer(20500, 500, undefined), { result: 'server-error' });
    assert.deepEqual(twilioAnswer(21614, 400, undefined), { result: 'refused', refusal: 'recipient' });
    assert.deepEqual(twilioAnswer(21610, 400, undefined), { result: 'refused', refusal: 'recipient' });
    assert.deepEqual(twilioAnswer(20003, 401, undefined), { result: 'refused', refusal: 'auth' });
    assert.deepEqual(twilioAnswer(20429, 429, undefined), { result: 'refused', refusal: 'throttled' });
    assert.deepEqual(twilioAnswer(21606, 400, undefined), { result: 'refused', refusal: 'other' });
  });
});
