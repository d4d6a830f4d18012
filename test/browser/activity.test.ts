import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningApp } from '../../src/app.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { ADMIN_KEY, smsUser, startSmsApp } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';
import {
  assertFitsWidth,
  type Browser,
  launchChromium,
  markDocument,
  sameDocument,
  screenshot,
  seriousAxeViolations,
  signInToConsole,
  watchPage,
} from './browser.ts';

/**
 * The activity pages in a real browser, against the service in-process with its worker and the
 * Twilio sandbox: a notification made over the API appears in the open activity list without a
 * reload; its page shows the SMS going to `delivered`, also without a reload (the page's live
 * stream replaces its deliveries). axe-core, 1280 and 375 px.
 */
// The in-process app on PGlite: the PostgreSQL pass would drive the very same pages again.
describe('console activity in Chromium', { skip: ENGINE === 'postgres' }, () => {
  let t: TestDatabase;
  let app: RunningApp;
  let browser: Browser;

  before(async () => {
    browser = await launchChromium();
    t = await createTestDatabase();
    app = await startSmsApp(t, {
      // A status report has no NOTIFY: the pages show it on the next tick, so ticks are short here.
      CONSOLE_LIVE_INTERVAL_MS: '500',
      OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
      QUIET_HOURS_DEFAULT: 'off',
    });
    await smsUser(t.database.db, 'u-activity');
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await t?.close();
  });

  test('a new notification appears live in the activity list; its page shows the SMS reach delivered', async () => {
    const url = app.url!;
    const page = await browser.context.newPage();
    const problems = watchPage(page, () => false);
    try {
      await signInToConsole(page, url, ADMIN_KEY);
      await page.getByRole('link', { name: 'Activity' }).click();
      await page.getByRole('heading', { level: 1, name: 'Activity' }).waitFor();
      await page.getByLabel('User id').fill('u-activity');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.getByText('No notification matches these filters.').waitFor();
      await page
        .getByRole('status')
        .getByText(/^Live: new notifications/)
        .waitFor();
      assert.deepEqual(await seriousAxeViolations(page), [], 'activity list');
      await markDocument(page);

      const post = await fetch(`${url}/api/v1/notifications`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          user_id: 'u-activity',
          type: 'order_confirmed',
          context: getNotificationType('order_confirmed')!.sampleContext,
        }),
      });
      assert.equal(post.status, 201, await post.clone().text());
      const { notification_id: id } = (await post.json()) as { notification_id: string };

      const link = page.getByRole('link', { name: id });
      await link.waitFor({ timeout: 30_000 });
      assert.equal(await sameDocument(page), true, 'it appeared without a reload');
      assert.deepEqual(await seriousAxeViolations(page), [], 'activity list with a row');
      await screenshot(page, 'activity-1280');

      await link.click();
      await page.getByRole('heading', { level: 1, name: `Notification ${id}` }).waitFor();
      await page
        .getByRole('status')
        .getByText(/^Live: the deliveries update/)
        .waitFor();
      await markDocument(page);
      await page.locator('[data-delivery="sms"][data-status="delivered"]').waitFor({ timeout: 30_000 });
      assert.equal(await sameDocument(page), true, 'delivered shown without a reload');
      const smsSection = page.locator('[data-delivery="sms"]');
      await smsSection.getByText(/sent → delivered/).waitFor();
      assert.match((await smsSection.textContent()) ?? '', /Provider message idSM[0-9a-f]{32}/);
      // The text the phone got, as its attempt rendered it; the email's subject before its text.
      await smsSection
        .locator('dl.content dd')
        .getByText(/^LaundryConnect: Order #LC240117 confirmed!/)
        .waitFor();
      await page.locator('[data-delivery="email"][data-status="sent"]').waitFor({ timeout: 30_000 });
      assert.deepEqual(await page.locator('[data-delivery="email"] dl.content dt').allTextContents(), [
        'Subject',
        'Text',
      ]);
      assert.deepEqual(await seriousAxeViolations(page), [], 'notification page');
      await screenshot(page, 'notification-1280');

      await page.setViewportSize({ width: 375, height: 800 });
      for (const [path, name] of [
        [`/console/notifications/${id}`, 'notification-375'],
        ['/console/activity?user=u-activity', 'activity-375'],
      ] as const) {
        await page.goto(url + path);
        await page
          .getByRole('status')
          .getByText(/^Live:/)
          .waitFor();
        await assertFitsWidth(page, 375, path);
        assert.deepEqual(await seriousAxeViolations(page), [], `${path} at 375 px`);
        await screenshot(page, name);
      }
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
    }
  });
});
