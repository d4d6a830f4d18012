import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  formatLintReport,
  type LintInput,
  type LintWarningCode,
  lintSmsTemplate,
  type Render,
} from '../../src/authoring/lint.ts';
import { cli } from '../cli/helpers.ts';

/** A stand-in for the real renderer: `{{ a.b }}` lookups, throwing on a missing variable like it does. */
const render: Render = async (source, context) =>
  source.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_, path: string) => {
    const value = path
      .split('.')
      .reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], context);
    if (value === undefined) throw new Error(`missing variable ${path}`);
    return String(value);
  });

const order = { order: { order_number: 'LC10023', pickup_date: '5 Jan, 10:00' } };
const paymentContext = { payment: { amount: '499.00', transaction_id: 'TXN8812345' } };
const lint = (input: Partial<LintInput> & { source: string }) =>
  lintSmsTemplate({ sampleContext: {}, ...input }, render);
const codes = async (input: Partial<LintInput> & { source: string }): Promise<LintWarningCode[]> =>
  (await lint(input)).warnings.map((w) => w.code);

describe('lintSmsTemplate', () => {
  test('the seed order template renders clean in one GSM-7 segment', async () => {
    const report = await lint({
      source:
        'LaundryConnect: Order #{{ order.order_number }} confirmed! Pickup scheduled for {{ order.pickup_date }}. Thank you!',
      sampleContext: order,
    });
    assert.deepEqual(report, {
      encoding: 'GSM-7',
      characters: 87,
      segments: 1,
      rendered: 'LaundryConnect: Order #LC10023 confirmed! Pickup scheduled for 5 Jan, 10:00. Thank you!',
      warnings: [],
    });
  });

  test('the seed payment template: ₹ forces UCS-2 and a second segment', async () => {
    const report = await lint({
      source:
        'LaundryConnect: Payment of ₹{{ payment.amount }} successful! Transaction ID: {{ payment.transaction_id }}. Thank you!',
      sampleContext: paymentContext,
    });
    assert.equal(report.encoding, 'UCS-2');
    assert.deepEqual(
      report.warnings.map((w) => w.code),
      ['MULTI_SEGMENT', 'UCS2_FORCED'],
    );
    assert.equal(
      report.warnings[1]!.message,
      'UCS-2 forced by "₹" (U+20B9): 70 chars per segment instead of 160',
    );
    assert.match(
      report.warnings[0]!.message,
      /^2 segments with the sample context \(85 UCS-2 characters, 67 per segment\)/,
    );
  });

  test('a Hindi template is UCS-2 by nature, not "forced"', async () => {
    const report = await lint({
      source: 'LaundryConnect: आपका ऑर्डर #{{ order.order_number }} पुष्टि हो गया है। धन्यवाद!',
      sampleContext: order,
    });
    assert.equal(report.encoding, 'UCS-2');
    assert.deepEqual(report.warnings, []);
  });

  test('a grapheme made of several code points is named with each', async () => {
    const report = await lint({ source: 'LaundryConnect: Done 👍🏽' });
    assert.equal(
      report.warnings[0]!.message,
      'UCS-2 forced by "👍🏽" (U+1F44D U+1F3FD): 70 chars per segment instead of 160',
    );
  });

  const sensitive: Array<[string, string, Record<string, unknown>]> = [
    ['a password', 'LaundryConnect: Your new password is {{ pw }}', { pw: 'hunter2' }],
    ['a password variable', 'LaundryConnect: Welcome! {{ user_password }}', { user_password: 'x' }],
    ['an OTP', 'LaundryConnect: Your OTP is {{ code }}', { code: '4821' }],
    ['a one-time code', 'LaundryConnect: Your one-time code: {{ code }}', { code: '4821' }],
    ['a verification code', 'LaundryConnect: Verification code {{ code }}', { code: '4821' }],
    ['a PIN', 'LaundryConnect: Your locker PIN is {{ pin }}', { pin: '1234' }],
    ['a CVV', 'LaundryConnect: CVV {{ cvv }} saved', { cvv: '123' }],
    [
      'a card number variable',
      'LaundryConnect: Paid with {{ payment.card_number }}',
      { payment: { card_number: 'x' } },
    ],
    ['a card number', 'LaundryConnect: Paid with {{ card }}', { card: '4111 1111 1111 1111' }],
    ['a dashed card number', 'LaundryConnect: Paid with {{ card }}', { card: '5500-0000-0000-0004' }],
  ];
  for (const [name, source, sampleContext] of sensitive) {
    test(`flags ${name}`, async () =>
      assert.deepEqual(await codes({ source, sampleContext }), ['SENSITIVE_DATA']));
  }

  const notSensitive: Array<[string, string]> = [
    ['a PIN code (postal code)', 'LaundryConnect: Pickup at PIN code 560001'],
    ['a 13-digit transaction id that is no card number', 'LaundryConnect: Transaction ID 1234567890123'],
    ['a phone number', 'LaundryConnect: Call us on +91 98765 43210'],
    ['words containing the patterns', 'LaundryConnect: Spinning done, passport photos? Topping up.'],
  ];
  for (const [name, source] of notSensitive) {
    test(`does not flag ${name}`, async () => assert.deepEqual(await codes({ source }), []));
  }

  test('a card number warning quotes the number found', async () => {
    const report = await lint({ source: 'LaundryConnect: card 4111111111111111' });
    assert.match(report.warnings[0]!.message, /a card number \(4111111111111111\)/);
  });

  test('flags a missing brand prefix', async () => {
    assert.deepEqual(await codes({ source: 'Order confirmed' }), ['MISSING_BRAND_PREFIX']);
    assert.deepEqual(await codes({ source: 'laundryconnect: Order confirmed' }), ['MISSING_BRAND_PREFIX']);
  });

  test('flags long messages as multi-segment', async () => {
    assert.deepEqual(await codes({ source: `LaundryConnect: ${'x'.repeat(150)}` }), ['MULTI_SEGMENT']);
  });

  test('checks the rendered text against the DLT registration', async () => {
    const source = 'LaundryConnect: Order #{{ order.order_number }} confirmed!';
    assert.deepEqual(
      await codes({ source, sampleContext: order, dltText: 'LaundryConnect: Order #{#var#} confirmed!' }),
      [],
    );
    const report = await lint({
      source,
      sampleContext: order,
      dltText: 'LaundryConnect: Order {#var#} is confirmed!',
    });
    assert.deepEqual(report.warnings, [
      {
        code: 'DLT_MISMATCH',
        message:
          'Does not match the registered DLT text: the fixed text " is confirmed!" after {#var#} #1 is not in the message',
      },
    ]);
  });

  test('a render failure is reported with counts for the raw source', async () => {
    const report = await lint({
      source: 'LaundryConnect: Order #{{ order.missing }}',
      sampleContext: order,
      dltText: 'x',
    });
    assert.equal(report.rendered, '');
    assert.equal(report.characters, 46, '42 characters, the four braces cost two septets each');
    assert.deepEqual(report.warnings, [
      {
        code: 'RENDER_FAILED',
        message:
          'Rendering with the sample context failed (missing variable order.missing); counts are for the raw source',
      },
    ]);
  });
});

describe('formatLintReport', () => {
  test('prints an aligned table, a summary and every warning', async () => {
    const clean = await lint({ source: 'LaundryConnect: Order ready' });
    const warned = await lint({ source: 'Paid ₹5' });
    const text = formatLintReport([
      { type: 'order_ready', locale: 'en', report: clean },
      { type: 'payment_completed', locale: 'hi', report: warned },
    ]);
    assert.equal(
      text,
      [
        'TYPE               LOCALE  ENCODING  CHARS  SEGMENTS  WARNINGS',
        'order_ready        en      GSM-7     27     1         -',
        'payment_completed  hi      UCS-2     7      1         UCS2_FORCED, MISSING_BRAND_PREFIX',
        '',
        "2 SMS template(s), 1 with warnings. Counts use each type's sample context.",
        '  payment_completed/hi UCS2_FORCED: UCS-2 forced by "₹" (U+20B9): 70 chars per segment instead of 160',
        '  payment_completed/hi MISSING_BRAND_PREFIX: Does not start with "LaundryConnect:"',
      ].join('\n'),
    );
  });
});

test('lint-templates refuses a template that runs past a render limit, naming it and the limit', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lcn-templates-'));
  try {
    cpSync(fileURLToPath(new URL('../../templates', import.meta.url)), dir, { recursive: true });
    const path = join(dir, 'en', 'order_ready.json');
    const file = JSON.parse(readFileSync(path, 'utf8'));
    file.email_text =
      '{% capture s %}x{% endcapture %}{% for i in (1..40) %}{% capture s %}{{s}}{{s}}{% endcapture %}{% endfor %}{{s}}';
    writeFileSync(path, JSON.stringify(file, null, 2));
    const r = await cli(['lint-templates', '--dir', dir]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^Error: Template order_ready\/en field email_text exceeds the output_size limit \(65536\) .*TEMPLATE_LIMIT_EXCEEDED/m,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
