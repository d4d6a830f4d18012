import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SegmentedMessage } from 'sms-segments-calculator';
import { countSegments } from '../../src/sandbox/segments.ts';

test('the GSM-7 fast path agrees with Twilio’s segment calculator', () => {
  const bodies = [
    'hi',
    'a'.repeat(160),
    'a'.repeat(161),
    'a'.repeat(306),
    'a'.repeat(307),
    'Ünïcödé-free: @£$¥èé\n\r'.repeat(10),
    '{'.repeat(80),
    '{'.repeat(81),
    '€ 12',
    '₹'.repeat(70),
    '₹'.repeat(71),
    'Order ready 🧺',
    'நன்றி',
    'a'.repeat(1600),
  ];
  for (const body of bodies) {
    assert.equal(
      countSegments(body),
      new SegmentedMessage(body).segmentsCount,
      `${body.slice(0, 20)}… (${body.length})`,
    );
  }
});
