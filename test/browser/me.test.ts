import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningApp } from '../../src/app.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { startConsoleApp } from '../console/console-test-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';
import {
  assertFitsWidth,
  type Browser,
  launchChromium,
  markDocument,
  sameDocument,
  screenshot,
  seriousAxeViolations,
  watchPage,
} from './browser.ts';

const ADMIN_KEY = 'lcn_adm_browser_me_test_key_0123456789';
const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };

/**
 * The end-user pages in a real browser against the service in-process (worker on, so an in-app
 * notification is delivered and pushed over the inbox WebSocket): open the signed link, change a
 * preference and see the API agree, watch a new notification arrive live, axe-core, 375 and 1280 px.
 */
// The pages are the same on either engine: the PGlite pass covers them (as console.test.ts).
describe('end-user pages in Chromium', { skip: ENGINE === 'postgres' }, () => {
  let t: TestDatabase;
  let app: RunningApp;
  let browser: Browser;

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(app.url + path, {
      method,
      headers: body === undefined ? { authorization: headers.authorization } : headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${await res.clone().text()}`);
    return res.json();
  };
  const openLink = async (page: 'preferences' | 'inbox') =>
    ((await api('POST', '/api/v1/users/u-me/links', { page })) as { url: string }).url;

  before(async () => {
    browser = await launchChromium();
    t = await createTestDatabase();
    app = await startConsoleApp(t, { adminKey: ADMIN_KEY, worker: true });
    await api('PUT', '/api/v1/users/u-me', { email: 'meera@example.com', first_name: 'Meera' });
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await t?.close();
  });

  test('open the signed link, change a preference, reload: it is kept and the API agrees', async () => {
    const page = await browser.context.newPage();
    const problems = watchPage(page, () => false);
    try {
      await page.goto(await openLink('preferences'));
      assert.equal(page.url(), `${app.url}/me/preferences`, 'the token is out of the address bar');
      await page.getByRole('heading', { level: 1, name: 'Notification preferences' }).waitFor();
      assert.deepEqual(await seriousAxeViolations(page), [], 'preferences');
      await screenshot(page, 'me-preferences-1280');

      const box = page.getByRole('checkbox', { name: 'Offers and news by Email' });
      assert.equal(await box.isChecked(), true);
      await box.uncheck();
      await page.getByRole('button', { name: 'Save preferences' }).click();
      await page.getByRole('status').getByText('Saved.').waitFor();
      await page.reload();
      assert.equal(await page.getByRole('checkbox', { name: 'Offers and news by Email' }).isChecked(), false);
      const view = (await api('GET', '/api/notifications/preferences/?user_id=u-me')) as Record<
        string,
        unknown
      >;
      assert.equal(view['promotions_email'], false);

      // The session is in a cookie no script can read.
      assert.equal(await page.evaluate('document.cookie'), '');

      await page.setViewportSize({ width: 375, height: 800 });
      await assertFitsWidth(page, 375, 'the preference centre');
      assert.deepEqual(await seriousAxeViolations(page), [], 'preferences at 375 px');
      await screenshot(page, 'me-preferences-375');
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
    }
  });

  test('the inbox: a notification created over the API appears live with the badge up, then mark it read', async () => {
    const page = await browser.context.newPage();
    const problems = watchPage(page, () => false);
    try {
      await page.setViewportSize({ width: 375, height: 800 });
      await page.goto(await openLink('inbox'));
      assert.equal(page.url(), `${app.url}/me/inbox`);
      await page.getByRole('status').getByText('Live:').waitFor({ timeout: 30_000 });
      const badge = page.locator('#unread-badge');
      assert.equal(await badge.textContent(), '0 unread');
      // Marks this document: a reload would lose it.
      await markDocument(page);

      await api('POST', '/api/v1/notifications', {
        user_id: 'u-me',
        type: 'order_confirmed',
        context: getNotificationType('order_confirmed')!.sampleContext,
      });
      const item = page.locator('#inbox-list li.unread');
      await item.first().waitFor({ timeout: 30_000 });
      await badge.filter({ hasText: /^1 unread$/ }).waitFor({ timeout: 30_000 });
      assert.equal(await sameDocument(page), true, 'updated without a reload');
      assert.equal(await page.getByRole('button', { name: 'Mark all read' }).isDisabled(), false);

      await assertFitsWidth(page, 375, 'the inbox');
      assert.deepEqual(await seriousAxeViolations(page), [], 'inbox at 375 px');
      await screenshot(page, 'me-inbox-375');

      await item
        .first()
        .getByRole('button', { name: /^Mark read/ })
        .click();
      await page
        .locator('#unread-badge')
        .filter({ hasText: /^0 unread$/ })
        .waitFor();
      assert.equal(await page.locator('#inbox-list li.unread').count(), 0);
      const count = (await api('GET', '/api/v1/inbox/unread-count?user_id=u-me')) as { unread_count: number };
      assert.equal(count.unread_count, 0);

      await page.setViewportSize({ width: 1280, height: 900 });
      assert.deepEqual(await seriousAxeViolations(page), [], 'inbox at 1280 px');
      await screenshot(page, 'me-inbox-1280');
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
    }
  });

  test('an expired or forged link is a clear 401 page', async () => {
    const page = await browser.context.newPage();
    const problems = watchPage(page, (u, status) => status === 401 && u.includes('/me/open'));
    try {
      const url = await openLink('inbox');
      const res = await page.goto(`${url.slice(0, -4)}AAAA`);
      assert.equal(res?.status(), 401);
      await page.getByRole('heading', { level: 1, name: 'Link expired or not valid' }).waitFor();
      assert.deepEqual(await seriousAxeViolations(page), [], 'refused link page');
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
    }
  });
});
