import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { maskPhone, validatePhone } from '../../src/channels/sms/phone.ts';
import { maskPhoneForLog } from '../../src/logger.ts';
import { buildTemplateContext } from '../../src/templates/render.ts';
import { renderTemplate } from '../../src/templates/render-pool.ts';

/**
 * Properties of the pure parsers that face user data: phone numbers and template rendering. The
 * marketplace's data (names, order numbers, addresses) reaches templates as values, and a value that
 * looks like Liquid must be printed, never run.
 */
const RUNS = 300;

/** Strings built to look like Liquid, HTML and format strings, mixed with anything at all. */
const hostile = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom(
    '{{ 7 | times: 6 }}',
    '{% for i in (1..100000000) %}x{% endfor %}',
    '{% include "/etc/passwd" %}',
    '{% render "secrets" %}',
    '{{ user.constructor.constructor("return process")() }}',
    '{% assign x = "y" %}{{ x }}',
    '{% raw %}{{ a }}{% endraw %}',
    '{{',
    '{%',
    '}}{%',
    '<script>alert(1)</script>',
    '%s%s%n',
    `\${process.env}`,
    '__proto__',
  ),
  fc
    .tuple(
      fc.string({ maxLength: 20 }),
      fc.constantFrom('{{', '}}', '{%', '%}', '|', '"'),
      fc.string({ maxLength: 20 }),
    )
    .map((parts) => parts.join('')),
);

describe('phone parsing under arbitrary input', () => {
  test('validatePhone never throws; accepts only canonical E.164, returned unchanged', async () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 40 }),
          fc.stringMatching(/^\+?[0-9 ()\-.]{0,20}$/),
          fc.integer({ min: 0, max: 99_999_999_999 }).map((n) => `+91${n}`),
        ),
        (input) => {
          const result = validatePhone(input);
          if (result.ok) {
            assert.match(input, /^\+[1-9]\d{1,14}$/);
            assert.equal(result.e164, input);
          } else {
            assert.equal(typeof result.message, 'string');
          }
        },
      ),
      { numRuns: RUNS * 3 },
    );
  });

  test('masking never shows more than the country code and two digits of a valid number', async () => {
    fc.assert(
      fc.property(fc.integer({ min: 6_000_000_000, max: 9_999_999_999 }), (n) => {
        const phone = `+91${n}`;
        for (const masked of [maskPhone(phone), maskPhoneForLog(phone)]) {
          assert.equal(masked.length, phone.length);
          assert.ok(!masked.includes(String(n).slice(0, 8)), `${masked} shows too much of ${phone}`);
          assert.equal(masked.replace(/\*/g, '').length <= 5, true, masked);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('masking arbitrary strings never throws', async () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
        assert.equal(typeof maskPhone(s), 'string');
        assert.equal(typeof maskPhoneForLog(s), 'string');
      }),
      { numRuns: RUNS },
    );
  });
});

describe('template rendering with hostile data', () => {
  test('Liquid in a context value is printed verbatim, not executed', async () => {
    await fc.assert(
      fc.asyncProperty(hostile, hostile, async (orderNumber, firstName) => {
        const ctx = buildTemplateContext(
          { firstName, lastName: null, email: null, locale: 'en' },
          { order: { order_number: orderNumber } },
        );
        const out = await renderTemplate('Hi {{ first_name }}, order #{{ order.order_number }}!', ctx);
        assert.equal(out, `Hi ${firstName}, order #${orderNumber}!`);
      }),
      { numRuns: RUNS },
    );
  });

  test('the HTML engine escapes hostile values instead of running or passing them through', async () => {
    await fc.assert(
      fc.asyncProperty(hostile, async (value) => {
        const out = await renderTemplate('<p>{{ v }}</p>', { v: value }, { escapeHtml: true });
        assert.ok(!out.slice(3, -4).includes('<'), out);
      }),
      { numRuns: RUNS },
    );
  });

  test('hostile keys and prototype tricks in the context cannot reach JavaScript objects', async () => {
    const ctx = JSON.parse('{"__proto__": {"polluted": "yes"}, "order": {"constructor": "c"}}') as Record<
      string,
      unknown
    >;
    for (const source of [
      '{{ order.constructor.name | default: "-" }}',
      '{{ polluted | default: "-" }}',
      '{{ order.__proto__ | default: "-" }}',
    ]) {
      try {
        const out = await renderTemplate(source, ctx);
        assert.doesNotMatch(out, /Object|Function|yes/, source);
      } catch (err) {
        assert.equal((err as { code?: string }).code, 'TEMPLATE_MISSING_VAR', source);
      }
    }
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined, 'no prototype pollution');
  });

  test('an operator template that loops forever or includes files fails with a template error', async () => {
    for (const source of [
      '{% for i in (1..100000000) %}x{% endfor %}',
      '{% include "/etc/passwd" %}',
      '{% render "../../package.json" %}',
    ]) {
      await assert.rejects(
        () => renderTemplate(source, {}),
        (err: { code?: string }) =>
          ['TEMPLATE_INVALID', 'TEMPLATE_MISSING_VAR', 'TEMPLATE_LIMIT_EXCEEDED'].includes(err.code ?? ''),
        source,
      );
    }
  });
});
