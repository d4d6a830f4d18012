import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Liquid } from 'liquidjs';
import { NOTIFICATION_TYPES } from '../../src/catalog/catalog.ts';
import { notificationLink } from '../../src/templates/notification-link.ts';
import { loadTemplateFiles } from '../../src/templates/template-files.ts';

describe('notification links', () => {
  test("each type's link is the page its email links to, in every locale", async () => {
    for (const def of NOTIFICATION_TYPES) {
      const link = await notificationLink(def.name, def.sampleContext);
      assert.ok(link?.startsWith('https://'), def.name);
      for (const set of loadTemplateFiles().filter((s) => s.type === def.name)) {
        // The source, not a render: the email must build the same URL from the same variables.
        assert.ok(set.fields.email_html.includes(`href="${def.link}"`), `${set.locale}/${def.name} html`);
        assert.ok(set.fields.email_text.includes(def.link), `${set.locale}/${def.name} text`);
      }
    }
  });

  test('links only use variables their type declares', async () => {
    const liquid = new Liquid();
    for (const def of NOTIFICATION_TYPES) {
      for (const variable of liquid.globalFullVariablesSync(def.link)) {
        assert.ok(def.variables.includes(variable), `${def.name} link uses undeclared ${variable}`);
      }
    }
  });

  test('a context without what the link needs gives no link, not a broken one', async () => {
    assert.equal(await notificationLink('review_request', { order: {} }), null);
    assert.equal(await notificationLink('no_such_type', {}), null);
    assert.equal(
      await notificationLink('review_request', { order: { order_number: 'LC1' } }),
      'https://laundryconnect.com/orders/LC1/review',
    );
  });
});
