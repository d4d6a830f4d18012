import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DLT_VAR_MAX_CHARS, dltMismatchReason, matchesDltTemplate } from '../../src/channels/sms/dlt.ts';

const PAYMENT = 'LaundryConnect: Payment of Rs.{#var#} successful! Transaction ID: {#var#}. Thank you!';
const payment = (amount: string, txn: string) =>
  `LaundryConnect: Payment of Rs.${amount} successful! Transaction ID: ${txn}. Thank you!`;

describe('matchesDltTemplate', () => {
  const cases: Array<[string, string, string, boolean]> = [
    ['values filled in', payment('499.00', 'TXN8812345'), PAYMENT, true],
    ['₹ instead of the registered Rs.', payment('499.00', 'TXN8812345').replace('Rs.', '₹'), PAYMENT, false],
    [
      '"." in the template is literal, not any character',
      payment('499.00', 'TXN1').replace('Rs.', 'RsX'),
      PAYMENT,
      false,
    ],
    ['empty value', payment('', 'TXN1'), PAYMENT, false],
    [
      `value of exactly ${DLT_VAR_MAX_CHARS} characters`,
      payment('1', 'T'.repeat(DLT_VAR_MAX_CHARS)),
      PAYMENT,
      true,
    ],
    [
      `value of ${DLT_VAR_MAX_CHARS + 1} characters`,
      payment('1', 'T'.repeat(DLT_VAR_MAX_CHARS + 1)),
      PAYMENT,
      false,
    ],
    [
      'value length counts characters, not UTF-16 units',
      payment('1', '😀'.repeat(DLT_VAR_MAX_CHARS)),
      PAYMENT,
      true,
    ],
    ['trailing text', `${payment('1', 'T')} Bye`, PAYMENT, false],
    ['missing fixed text', 'LaundryConnect: Payment of Rs.1 successful!', PAYMENT, false],
    [
      'regex metacharacters are literal',
      'Cost (approx.) $ 5 * 2 + [tax]? a|b ^ \\ {x}',
      'Cost (approx.) $ {#var#} * 2 + [tax]? a|b ^ \\ {x}',
      true,
    ],
    ['metacharacters do not act as patterns', 'Cost (approx) $ 5', 'Cost (approx.) $ {#var#}', false],
    ['adjacent slots', 'ab', '{#var#}{#var#}', true],
    ['a value may span lines', 'Hi A\nB!', 'Hi {#var#}!', true],
    ['no slots: exact text only', 'Your order is ready.', 'Your order is ready.', true],
    ['no slots: case matters', 'your order is ready.', 'Your order is ready.', false],
  ];
  for (const [name, rendered, dltText, expected] of cases) {
    test(`${name} → ${expected}`, () => assert.equal(matchesDltTemplate(rendered, dltText), expected));
  }
});

describe('dltMismatchReason', () => {
  test('null when the text matches', () => {
    assert.equal(dltMismatchReason(payment('499.00', 'TXN8812345'), PAYMENT), null);
  });

  const cases: Array<[string, string, string]> = [
    [
      'names where the fixed text diverges',
      payment('1', 'T').replace('Rs.', '₹'),
      'differs at character 28: the template has "Rs.", the message has "₹1 successful! Trans"',
    ],
    [
      'names the fixed text that is missing',
      payment('1', 'T').replace('Transaction', 'Txn'),
      'the fixed text " successful! Transaction ID: " after {#var#} #1 is not in the message',
    ],
    ['names an empty value', payment('', 'T'), '{#var#} #1 is empty; DLT needs at least one character'],
    [
      'names a value that is too long',
      payment('1', 'X'.repeat(31)),
      `{#var#} #2 is 31 characters ("${'X'.repeat(31)}"); DLT allows at most 30`,
    ],
    [
      'quotes extra text at the end',
      `${payment('1', 'T')} Bye`,
      'the message has extra text after the end of the DLT template: " Bye"',
    ],
    [
      'says when the message stops early',
      'LaundryConnect: Pay',
      'differs at character 20: the template has "ment of Rs.", the message has nothing more',
    ],
  ];
  for (const [name, rendered, reason] of cases) {
    test(name, () => assert.equal(dltMismatchReason(rendered, PAYMENT), reason));
  }
});
