import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Liquid } from 'liquidjs';
import { SegmentedMessage } from 'sms-segments-calculator';
import {
  NOTIFICATION_TYPE_NAMES,
  NOTIFICATION_TYPES,
  requireNotificationType,
} from '../../src/catalog/catalog.ts';
import { renderTemplate } from '../../src/templates/render-pool.ts';
import {
  DEFAULT_LOCALE,
  LOCALES,
  loadTemplateFiles,
  resolveLocale,
  TEMPLATE_FIELDS,
  type TemplateSet,
} from '../../src/templates/template-files.ts';

const SETS = loadTemplateFiles();
const english = (type: string): TemplateSet => {
  const set = SETS.find((s) => s.locale === 'en' && s.type === type);
  assert.ok(set, `en/${type}`);
  return set;
};
const renderSms = (set: TemplateSet) =>
  renderTemplate(set.fields.sms, requireNotificationType(set.type).sampleContext);

// The seed guide's three "Example Templates", verbatim.
const SEED_EXAMPLES: Record<string, string> = {
  order_confirmed:
    'LaundryConnect: Order #{{ order.order_number }} confirmed! Pickup scheduled for {{ order.pickup_date }}. Thank you!',
  order_out_for_delivery:
    'LaundryConnect: Your order #{{ order.order_number }} is out for delivery! It will reach you shortly. Track live at laundryconnect.com',
  payment_completed:
    'LaundryConnect: Payment of ₹{{ payment.amount }} successful! Transaction ID: {{ payment.transaction_id }}. Thank you!',
};

function validFile(): Record<string, string> {
  return Object.fromEntries(TEMPLATE_FIELDS.map((field) => [field, `LaundryConnect: ${field}`]));
}

function dirWith(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'lc-templates-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

describe('template files', () => {
  test('every locale has exactly one file per notification type', async () => {
    for (const locale of LOCALES) {
      const types = SETS.filter((set) => set.locale === locale).map((set) => set.type);
      assert.deepEqual(types.sort(), [...NOTIFICATION_TYPE_NAMES].sort(), locale);
    }
  });

  test('every SMS in every locale starts with the brand in Latin script', async () => {
    for (const set of SETS)
      assert.ok(set.fields.sms.startsWith('LaundryConnect:'), `${set.locale}/${set.type}`);
  });

  test("the seed's example SMS templates are used verbatim", async () => {
    for (const [type, sms] of Object.entries(SEED_EXAMPLES)) assert.equal(english(type).fields.sms, sms);
  });

  test('templates only use variables their notification type declares', async () => {
    const liquid = new Liquid();
    for (const set of SETS) {
      const declared = new Set(requireNotificationType(set.type).variables);
      for (const field of TEMPLATE_FIELDS) {
        for (const variable of liquid.globalFullVariablesSync(set.fields[field])) {
          assert.ok(declared.has(variable), `${set.locale}/${set.type}.${field} uses undeclared ${variable}`);
        }
      }
    }
  });

  test('translations are real: Hindi in Devanagari, Tamil in Tamil script', async () => {
    const script = { hi: /\p{Script=Devanagari}/u, ta: /\p{Script=Tamil}/u } as const;
    for (const set of SETS.filter((s) => s.locale !== 'en')) {
      for (const field of TEMPLATE_FIELDS) {
        assert.match(
          set.fields[field],
          script[set.locale as 'hi' | 'ta'],
          `${set.locale}/${set.type}.${field}`,
        );
      }
    }
  });

  test('English SMS fit one GSM-7 segment, except the seed example that carries ₹', async () => {
    for (const set of SETS.filter((s) => s.locale === 'en')) {
      const message = new SegmentedMessage(await renderSms(set));
      if (set.type === 'payment_completed') assert.equal(message.segmentsCount, 2);
      else assert.deepEqual([set.type, message.encodingName, message.segmentsCount], [set.type, 'GSM-7', 1]);
    }
  });

  test('Hindi and Tamil SMS stay within three UCS-2 segments', async () => {
    for (const set of SETS.filter((s) => s.locale !== 'en')) {
      assert.ok(new SegmentedMessage(await renderSms(set)).segmentsCount <= 3, `${set.locale}/${set.type}`);
    }
  });

  test('order SMS carry a tracking link', async () => {
    for (const set of SETS.filter((s) =>
      /^order_(created|picked_up|ready|delivered|cancelled|rescheduled)$/.test(s.type),
    )) {
      assert.ok(
        set.fields.sms.includes('https://laundryconnect.com/orders/{{ order.order_number }}'),
        set.type,
      );
    }
  });

  test('email HTML is self-contained: no scripts, external assets or stylesheets', async () => {
    for (const set of SETS) {
      assert.doesNotMatch(
        set.fields.email_html,
        /<script|<img|<link|<iframe|<style|src=/i,
        `${set.locale}/${set.type}`,
      );
    }
  });
});

describe('India DLT templates', () => {
  const critical = NOTIFICATION_TYPES.filter((def) => def.priority === 'critical');

  test('every critical English SMS has a 19-digit DLT template id and text', async () => {
    assert.ok(critical.length >= 5);
    for (const def of critical) {
      const set = english(def.name);
      assert.match(set.dltTemplateId ?? '', /^\d{19}$/, def.name);
      assert.ok(set.dltText?.startsWith('LaundryConnect:'), def.name);
    }
    const ids = critical.map((def) => english(def.name).dltTemplateId);
    assert.equal(new Set(ids).size, ids.length);
  });

  test('a DLT text has one {#var#} slot per output in the SMS and matches it once rendered', async () => {
    for (const set of SETS.filter((s) => s.dltText)) {
      const dltText = set.dltText ?? '';
      const slots = dltText.split('{#var#}').length - 1;
      const outputs = set.fields.sms.match(/\{\{.*?\}\}/g)?.length ?? 0;
      assert.equal(slots, outputs, set.type);
      // DLT allows at most 30 characters per variable.
      const pattern = dltText
        .split('{#var#}')
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.{1,30}');
      assert.match(await renderSms(set), new RegExp(`^${pattern}$`, 'u'), set.type);
    }
  });
});

describe('loadTemplateFiles', () => {
  test('reads a locale folder into template sets', async () => {
    const dir = dirWith({ 'hi/welcome.json': validFile() });
    const [set, ...rest] = loadTemplateFiles(dir);
    assert.equal(rest.length, 0);
    assert.deepEqual(set, { type: 'welcome', locale: 'hi', fields: validFile() });
  });

  test('a missing or blank field is refused naming the file and field', async () => {
    const { push_body: _, ...missing } = validFile();
    assert.throws(
      () => loadTemplateFiles(dirWith({ 'en/welcome.json': missing })),
      /en\/welcome\.json is invalid: push_body:/,
    );
    assert.throws(
      () => loadTemplateFiles(dirWith({ 'ta/welcome.json': { ...validFile(), sms: '  ' } })),
      /ta\/welcome\.json is invalid: sms: must be a non-empty string/,
    );
  });

  test('a malformed DLT id, an unknown field or a half-given DLT pair is refused', async () => {
    for (const extra of [
      { dlt_template_id: '12345', dlt_text: 'LaundryConnect: {#var#}' },
      { dlt_template_id: '1107170000000000009' },
      { smss: 'typo' },
    ]) {
      const dir = dirWith({ 'en/welcome.json': { ...validFile(), ...extra } });
      assert.throws(
        () => loadTemplateFiles(dir),
        /en\/welcome\.json is invalid: (dlt_template_id|dlt_text|\(file\))/,
      );
    }
  });

  test('invalid JSON, an unknown type or an unsupported locale folder is refused', async () => {
    assert.throws(
      () => loadTemplateFiles(dirWith({ 'en/welcome.json': '{ nope' })),
      /welcome\.json is not valid JSON/,
    );
    assert.throws(
      () => loadTemplateFiles(dirWith({ 'en/order_teleported.json': validFile() })),
      /order_teleported\.json is not named after a notification type/,
    );
    assert.throws(
      () => loadTemplateFiles(dirWith({ 'fr/welcome.json': validFile() })),
      /fr is not a supported locale/,
    );
  });
});

describe('resolveLocale', () => {
  const cases: [string | null | undefined, string][] = [
    ['hi', 'hi'],
    ['hi-IN', 'hi'],
    ['ta_IN', 'ta'],
    ['TA', 'ta'],
    ['en-GB', 'en'],
    ['fr-FR', DEFAULT_LOCALE],
    ['', DEFAULT_LOCALE],
    [null, DEFAULT_LOCALE],
    [undefined, DEFAULT_LOCALE],
  ];
  for (const [requested, expected] of cases) {
    test(`${JSON.stringify(requested)} resolves to ${expected}`, async () =>
      assert.equal(resolveLocale(requested), expected));
  }
});
