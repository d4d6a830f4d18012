import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_SMS_PRICES, estimateSmsCost, parsePriceTable } from '../../src/channels/sms/cost.ts';
import { ConfigError } from '../../src/config.ts';

describe('estimateSmsCost', () => {
  const cases: Array<[string, number, string | undefined, number, number]> = [
    ['+919876543210', 1, 'IN', 0.0832, 0.0832],
    ['+919876543210', 2, 'IN', 0.0832, 0.1664],
    ['+14155551234', 3, 'US', 0.0083, 0.0249],
    ['+447400123456', 1, 'GB', 0.0524, 0.0524],
    ['+971501234567', 1, 'AE', 0.0625, 0.0625],
    ['+6581234567', 1, 'SG', 0.0563, 0.0563],
    ['+33612345678', 2, 'FR', 0.1, 0.2],
    ['not a number', 1, undefined, 0.1, 0.1],
    ['+919876543210', 0, 'IN', 0.0832, 0],
  ];
  for (const [e164, segments, country, perSegment, amount] of cases) {
    test(`${segments} segment(s) to ${e164} cost ${amount} USD`, () => {
      assert.deepEqual(estimateSmsCost(e164, segments), { amount, currency: 'USD', country, perSegment });
    });
  }

  test('all default prices are in one currency', () => {
    assert.deepEqual(new Set(Object.values(DEFAULT_SMS_PRICES).map((p) => p.currency)), new Set(['USD']));
  });

  test('an override table is used, with its default for unlisted countries', () => {
    const table = { IN: { perSegment: 0.7, currency: 'INR' }, default: { perSegment: 5, currency: 'INR' } };
    assert.deepEqual(estimateSmsCost('+919876543210', 2, table), {
      amount: 1.4,
      currency: 'INR',
      country: 'IN',
      perSegment: 0.7,
    });
    assert.equal(estimateSmsCost('+14155551234', 1, table).amount, 5);
  });

  test('a fractional or negative segment count is a programming error', () => {
    assert.throws(() => estimateSmsCost('+919876543210', 1.5), RangeError);
    assert.throws(() => estimateSmsCost('+919876543210', -1), RangeError);
  });
});

describe('parsePriceTable', () => {
  test('parses a valid override', () => {
    const table = parsePriceTable(
      '{"IN":{"perSegment":0.08,"currency":"USD"},"default":{"perSegment":0.1,"currency":"USD"}}',
    );
    assert.deepEqual(table, {
      IN: { perSegment: 0.08, currency: 'USD' },
      default: { perSegment: 0.1, currency: 'USD' },
    });
  });

  const invalid: Array<[string, string, RegExp]> = [
    ['broken JSON', '{"IN":', /not valid JSON/],
    ['no default', '{"IN":{"perSegment":0.08,"currency":"USD"}}', /"default" price is required/],
    [
      'lowercase country',
      '{"in":{"perSegment":0.08,"currency":"USD"},"default":{"perSegment":0.1,"currency":"USD"}}',
      /ISO country codes/,
    ],
    ['negative price', '{"default":{"perSegment":-1,"currency":"USD"}}', /default\.perSegment/],
    ['bad currency', '{"default":{"perSegment":0.1,"currency":"dollars"}}', /ISO 4217/],
    ['unknown field', '{"default":{"perSegment":0.1,"currency":"USD","tax":1}}', /default/],
    [
      'mixed currencies',
      '{"IN":{"perSegment":0.7,"currency":"INR"},"default":{"perSegment":0.1,"currency":"USD"}}',
      /same currency/,
    ],
    ['not an object', '[1,2]', /SMS price table is invalid/],
  ];
  for (const [name, json, message] of invalid) {
    test(`refuses ${name} with a clear ConfigError`, () => {
      assert.throws(
        () => parsePriceTable(json),
        (err: unknown) => err instanceof ConfigError && message.test(err.message),
      );
    });
  }
});
