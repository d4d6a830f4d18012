import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { requireNotificationType } from '../../src/catalog/catalog.ts';
import { AppError } from '../../src/errors.ts';
import {
  buildTemplateContext,
  TEMPLATE_LIMITS,
  type TemplateLimit,
  validateTemplateSource,
} from '../../src/templates/render.ts';
import { renderTemplate } from '../../src/templates/render-pool.ts';
import { LOCALES, loadTemplateFiles, TEMPLATE_FIELDS } from '../../src/templates/template-files.ts';

const TEMPLATE_SETS = loadTemplateFiles();

function isAppError(code: string, check: (err: AppError) => boolean = () => true) {
  return (err: unknown) => err instanceof AppError && err.code === code && check(err);
}

function assertClean(output: string, where: string): void {
  assert.ok(output.trim().length > 0, `${where} is empty`);
  for (const leak of ['undefined', 'null', '[object Object]', '{{', '{%']) {
    assert.ok(!output.includes(leak), `${where} contains "${leak}": ${output}`);
  }
}

describe('shipped templates render', () => {
  test('every type × locale × field renders with the type sample context', async () => {
    assert.equal(TEMPLATE_SETS.length > 0, true);
    for (const set of TEMPLATE_SETS) {
      const { sampleContext } = requireNotificationType(set.type);
      for (const field of TEMPLATE_FIELDS) {
        const output = await renderTemplate(set.fields[field], sampleContext, {
          escapeHtml: field === 'email_html',
        });
        assertClean(output, `${set.locale}/${set.type}.${field}`);
      }
    }
  });

  test('every template still reads well for a user with no name on file', async () => {
    const user = { firstName: null, lastName: null, email: null, locale: 'en' };
    for (const set of TEMPLATE_SETS) {
      const context = buildTemplateContext(user, requireNotificationType(set.type).sampleContext);
      for (const field of TEMPLATE_FIELDS) {
        const output = await renderTemplate(set.fields[field], context);
        assertClean(output, `${set.locale}/${set.type}.${field}`);
        assert.doesNotMatch(output, /(Hi|नमस्ते|வணக்கம்) ,/, `${set.locale}/${set.type}.${field}`);
      }
    }
  });

  test('every locale is covered', async () => {
    assert.deepEqual([...new Set(TEMPLATE_SETS.map((set) => set.locale))].sort(), [...LOCALES].sort());
  });
});

describe('renderTemplate', () => {
  test('fills variables from nested context paths', async () => {
    const output = await renderTemplate('Order #{{ order.order_number }} for {{ first_name }}', {
      first_name: 'Priya',
      order: { order_number: 'LC1' },
    });
    assert.equal(output, 'Order #LC1 for Priya');
  });

  test('a missing property names the full variable path', async () => {
    await assert.rejects(
      () => renderTemplate('Pickup on {{ order.pickup_date }}', { order: { order_number: 'LC1' } }),
      isAppError(
        'TEMPLATE_MISSING_VAR',
        (err) =>
          err.details?.variable === 'order.pickup_date' &&
          err.message === 'Template variable "order.pickup_date" is missing from the context',
      ),
    );
  });

  test('a missing parent object still names the full variable path', async () => {
    await assert.rejects(
      () => renderTemplate('Paid {{ payment.amount | append: "!" }}', {}),
      isAppError('TEMPLATE_MISSING_VAR', (err) => err.details?.variable === 'payment.amount'),
    );
  });

  test('a variable used only in a condition is still required', async () => {
    await assert.rejects(
      () => renderTemplate('{% if order.express %}Express {% endif %}order', { order: {} }),
      isAppError('TEMPLATE_MISSING_VAR', (err) => err.details?.variable === 'order.express'),
    );
  });

  test('prototype properties are not reachable from a template', async () => {
    await assert.rejects(
      () => renderTemplate('{{ order.constructor }}', { order: {} }),
      isAppError('TEMPLATE_MISSING_VAR', (err) => err.details?.variable === 'order.constructor'),
    );
  });

  test('broken templates are TEMPLATE_INVALID with the parser message', async () => {
    for (const source of [
      '{% if order %}open',
      '{{ order.order_number ',
      '{{ first_name | shout }}',
      '{% nope %}',
    ]) {
      await assert.rejects(
        () => renderTemplate(source, { order: {}, first_name: 'A' }),
        isAppError('TEMPLATE_INVALID', (err) => err.message.length > 0),
        source,
      );
      assert.throws(() => validateTemplateSource(source), isAppError('TEMPLATE_INVALID'), source);
    }
  });

  test('validateTemplateSource accepts a good template without needing a context', async () => {
    assert.doesNotThrow(() => validateTemplateSource('Hi {{ first_name }}, order {{ order.order_number }}'));
  });

  test('include, render and layout cannot read files from disk', async () => {
    for (const source of [
      '{% include "/etc/passwd" %}',
      '{% render "../package.json" %}',
      '{% layout "x" %}y',
    ]) {
      await assert.rejects(() => renderTemplate(source, {}), isAppError('TEMPLATE_INVALID'), source);
    }
  });

  test('a runaway loop is stopped instead of hogging the worker', async () => {
    await assert.rejects(
      () => renderTemplate('{% for i in (1..100000000) %}x{% endfor %}', {}),
      isAppError('TEMPLATE_LIMIT_EXCEEDED', (err) => (err.details as { limit: string }).limit === 'memory'),
    );
  });

  test('output that is empty or only whitespace is refused', async () => {
    for (const [source, context] of [
      ['{{ note }}', { note: '' }],
      ['  {% if false %}x{% endif %}\n', {}],
    ] as const) {
      await assert.rejects(
        () => renderTemplate(source, context),
        isAppError('TEMPLATE_INVALID', (err) => err.details?.reason === 'rendered to an empty message'),
      );
    }
  });

  test('hostile user data is printed literally, never executed', async () => {
    for (const hostile of [
      '{{ 7*7 }}',
      '{% for x in (1..3) %}x{% endfor %}',
      '{% include "/etc/passwd" %}',
    ]) {
      assert.equal(await renderTemplate('Hi {{ first_name }}!', { first_name: hostile }), `Hi ${hostile}!`);
    }
  });

  test('escapeHtml escapes variables but not the template markup', async () => {
    const source = '<p>Hi {{ first_name }}</p>';
    const context = { first_name: '<script>alert("x")</script> & co' };
    assert.equal(
      await renderTemplate(source, context, { escapeHtml: true }),
      '<p>Hi &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co</p>',
    );
    // The same source rendered as plain text must not reuse the escaping parse (separate caches).
    assert.equal(await renderTemplate(source, context), `<p>Hi ${context.first_name}</p>`);
  });

  test('a cached template renders each context afresh', async () => {
    const source = 'Order #{{ order.order_number }}';
    assert.equal(await renderTemplate(source, { order: { order_number: 'A1' } }), 'Order #A1');
    assert.equal(await renderTemplate(source, { order: { order_number: 'B2' } }), 'Order #B2');
  });
});

describe('buildTemplateContext', () => {
  const user = { firstName: 'Priya', lastName: 'Sharma', email: 'priya@example.com', locale: 'hi' };

  test('adds the recipient as first_name, last_name and user.*', async () => {
    const context = buildTemplateContext(user, { order: { order_number: 'LC1' } });
    assert.deepEqual(context, {
      order: { order_number: 'LC1' },
      first_name: 'Priya',
      last_name: 'Sharma',
      user: { first_name: 'Priya', last_name: 'Sharma', email: 'priya@example.com', locale: 'hi' },
    });
  });

  test('an event payload cannot change who the message greets', async () => {
    const context = buildTemplateContext(user, {
      first_name: 'Mallory',
      user: { email: 'evil@example.com' },
    });
    assert.equal(context.first_name, 'Priya');
    assert.equal((context.user as { email: string }).email, 'priya@example.com');
  });

  test('missing names and email become empty strings, never null', async () => {
    const context = buildTemplateContext({ firstName: null, lastName: null, email: null, locale: 'en' }, {});
    assert.equal(
      await renderTemplate('[{{ first_name }}|{{ last_name }}|{{ user.email }}]', context),
      '[||]',
    );
  });
});

describe('render limits', () => {
  const NESTED_LOOPS = '{% for a in (1..3000) %}{% for b in (1..3000) %}x{% endfor %}{% endfor %}';
  const CAPTURE_DOUBLING =
    '{% capture s %}x{% endcapture %}{% for i in (1..40) %}{% capture s %}{{s}}{{s}}{% endcapture %}{% endfor %}{{s}}';
  const overLimit = (limit?: TemplateLimit) =>
    isAppError(
      'TEMPLATE_LIMIT_EXCEEDED',
      (err) => limit === undefined || (err.details as { limit: string }).limit === limit,
    );

  test('an output longer than the output size limit fails with the named error instead of rendering', async () => {
    const long = 'x'.repeat(TEMPLATE_LIMITS.output_size + 1);
    await assert.rejects(
      () => renderTemplate('LaundryConnect: {{ note }}', { note: long }),
      overLimit('output_size'),
    );
    await assert.rejects(
      () => renderTemplate('{{ note }}', { note: long }, { escapeHtml: true }),
      overLimit('output_size'),
    );
  });

  test('a capture doubled in a loop stops at the output size limit (memoryLimit does not count captures)', async () => {
    await assert.rejects(() => renderTemplate(CAPTURE_DOUBLING, {}), overLimit('output_size'));
  });

  test('nested loops stop at a limit instead of running 9 million iterations', async () => {
    // Output size or render time, whichever this machine reaches first; both end the render.
    await assert.rejects(() => renderTemplate(NESTED_LOOPS, {}), overLimit());
    // Without output, the ranges alone are 9 million memoryLimit units.
    const silent = '{% for a in (1..3000) %}{% for b in (1..3000) %}{% endfor %}{% endfor %}.';
    await assert.rejects(() => renderTemplate(silent, {}), overLimit());
  });

  test('a message up to the output size limit still renders', async () => {
    const note = 'x'.repeat(TEMPLATE_LIMITS.output_size - 'LaundryConnect: '.length);
    assert.equal(
      (await renderTemplate('LaundryConnect: {{ note }}', { note })).length,
      TEMPLATE_LIMITS.output_size,
    );
  });
});
