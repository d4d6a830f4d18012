import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { INVALID_PHONE_MESSAGE, maskPhone, validatePhone } from '../../src/channels/sms/phone.ts';

describe('validatePhone', () => {
  const refused: Array<[string, string, string]> = [
    ['9876543210', 'missing_plus', 'seed: missing country code'],
    ['919876543210', 'missing_plus', 'seed: missing +'],
    ['+91 9876543210', 'has_separators', 'seed: has a space'],
    ['+91-9876-543210', 'has_separators', 'seed: has hyphens'],
    ['+91(987)6543210', 'has_separators', 'brackets'],
    ['+919876543210 ', 'has_separators', 'trailing space is not trimmed away'],
    ['', 'empty', 'empty string'],
    ['   ', 'empty', 'only whitespace'],
    ['+', 'invalid_number', 'just a plus'],
    ['+0919876543210', 'invalid_number', 'country code cannot start with 0'],
    ['+1415555123', 'invalid_number', 'one digit short for the US'],
    ['+910000000000', 'invalid_number', 'E.164-shaped but not a real Indian range'],
    ['+9198765432109876', 'invalid_number', 'longer than 15 digits'],
    ['+９１９８７６５４３２１０', 'invalid_number', 'full-width digits'],
    ['+91987654321O', 'invalid_number', 'letter O for zero'],
  ];
  for (const [input, reason, why] of refused) {
    test(`refuses ${JSON.stringify(input)} (${why}) with the seed message`, () => {
      assert.deepEqual(validatePhone(input), { ok: false, message: INVALID_PHONE_MESSAGE, reason });
    });
  }

  const accepted: Array<[string, string, string]> = [
    ['+919876543210', 'IN', 'MOBILE'],
    ['+14155551234', 'US', 'FIXED_LINE_OR_MOBILE'],
    ['+447400123456', 'GB', 'MOBILE'],
    ['+971501234567', 'AE', 'MOBILE'],
    ['+6581234567', 'SG', 'MOBILE'],
  ];
  for (const [input, country, type] of accepted) {
    test(`accepts ${input} as ${country} ${type}`, () => {
      assert.deepEqual(validatePhone(input), { ok: true, e164: input, country, type });
    });
  }

  test('the seed message is kept verbatim', () => {
    assert.equal(INVALID_PHONE_MESSAGE, 'Invalid phone number format. Must start with + and country code.');
  });
});

describe('maskPhone', () => {
  const cases: Array<[string, string]> = [
    ['+919876543210', '+91********10'],
    ['+14155551234', '+1********34'],
    ['+447400123456', '+44********56'],
    ['+971501234567', '+971*******67'],
    ['919876543210', '**********10'],
    ['+91 98765 43210', '+91**********10'],
    ['123', '***'],
    ['', ''],
  ];
  for (const [input, masked] of cases) {
    test(`masks ${JSON.stringify(input)} as ${JSON.stringify(masked)}`, () => {
      assert.equal(maskPhone(input), masked);
    });
  }
});
