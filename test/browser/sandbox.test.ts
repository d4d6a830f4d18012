import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import type { RunningApp } from '../../src/app.ts';
import { notificationPreferences } from '../../src/db/schema.ts';
import { ADMIN_KEY, notify, smsUser, startSmsApp } from '../helpers/sms-app.ts';
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

const PHONE = '+919876500101';

/**
 * The sandbox phone in a real browser, the app in-process with its built-in sandbox: a notification's
 * SMS appears in the thread without a reload and walks to delivered, STOP turns the user's SMS off,
 * START turns it back on and the service's opt-in confirmation arrives in the thread.
 */
// The page runs the same on both engines; the PGlite pass covers the browser side (as console.test.ts).
describe('sandbox phone in Chromium', { skip: ENGINE === 'postgres' }, () => {
  let t: TestDatabase;
  let app: RunningApp;
  let browser: Browser;

  before(async () => {
    browser = await launchChromium();
    t = await createTestDatabase();
    app = await startSmsApp(t, { CONSOLE_SIGN_IN_ATTEMPTS_PER_MINUTE: '1000', QUIET_HOURS_DEFAULT: 'off' });
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await t?.close();
  });

  const smsOn = async (userId: number) =>
    (
      await t.database.db
        .select()
        .from(notificationPreferences)
        .where(and(eq(notificationPreferences.userId, userId), eq(notificationPreferences.channel, 'sms')))
    ).filter((p) => p.enabled).length;

  /**
   * One STOP, every view agrees: the operator's users page and the user's own preference centre
   * (opened by a signed link, as from an email) both show SMS off.
   */
  const seeSmsOffElsewhere = async (externalId: string) => {
    const users = await browser.context.newPage();
    const problems = watchPage(users, () => false);
    try {
      await users.goto(`${app.url}/console/users/${externalId}`);
      await users.getByText('Opted out').first().waitFor();
      await users
        .locator('#sms-history td', { hasText: /^STOP reply/ })
        .first()
        .waitFor();
      const res = await fetch(`${app.url}/api/v1/users/${externalId}/links`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ page: 'preferences' }),
      });
      assert.equal(res.status, 201, await res.clone().text());
      await users.goto(((await res.json()) as { url: string }).url);
      await users.locator('input[type="checkbox"][name$="_sms"]').first().waitFor();
      assert.equal(await users.locator('input[type="checkbox"][name$="_sms"]:checked').count(), 0);
      assert.ok((await users.locator('input[type="checkbox"][name$="_sms"]').count()) > 0);
      assert.deepEqual(problems, []);
    } finally {
      await users.close();
    }
  };

  test('a new SMS shows live and reaches delivered; STOP turns SMS off (on the users page and in the preference centre too); START brings the confirmation', async () => {
    const user = await smsUser(t.database.db, 'browser-sandbox', PHONE);
    const page = await browser.context.newPage();
    const problems = watchPage(page, () => false);
    try {
      await signInToConsole(page, app.url!, ADMIN_KEY);
      await page.getByRole('link', { name: 'Sandbox phone' }).click();
      await page.getByRole('heading', { level: 1, name: 'Sandbox phone' }).waitFor();

      await page.goto(`${app.url}/console/sandbox/${encodeURIComponent(PHONE)}`);
      await page.getByText('No messages for this number yet.').waitFor();
      await page.getByRole('status').getByText('Live:').waitFor();
      await markDocument(page);

      await notify(app, 'browser-sandbox');
      const delivered = page.locator('.bubble.out[data-status="delivered"]');
      await delivered.waitFor({ timeout: 30_000 });
      await delivered.locator('.timeline .status', { hasText: /^delivered$/ }).waitFor();
      assert.deepEqual(
        await delivered.locator('.timeline .status').allTextContents(),
        app.sms
          .sandbox!.messages()
          .find((m) => m.to === PHONE)!
          .history.map((h) => h.status),
      );
      assert.equal(await sameDocument(page), true, 'it arrived without a reload');
      assert.deepEqual(await seriousAxeViolations(page), [], 'thread at 1280 px');
      await screenshot(page, 'sandbox-phone-1280');

      await page.getByRole('button', { name: 'STOP', exact: true }).click();
      await page.locator('.bubble.in', { hasText: /^STOP/ }).waitFor();
      // The service answers STOP with no text of its own: Twilio's Advanced Opt-Out confirms it.
      await page.getByText('inbound webhook answered HTTP 200 with no reply text').waitFor();
      assert.equal(await smsOn(user.id), 0, 'SMS off for the user');
      await seeSmsOffElsewhere('browser-sandbox');

      await page.getByRole('button', { name: 'START', exact: true }).click();
      await page.locator('.bubble.in', { hasText: /^START/ }).waitFor();
      // The opt-in confirmation is a real SMS through the worker and the sandbox: it arrives live.
      await page
        .locator('.bubble.out[data-status="delivered"]', { hasText: 'Reply HELP for help, STOP to opt out' })
        .waitFor({ timeout: 30_000 });
      assert.ok((await smsOn(user.id)) > 0, 'SMS back on');

      await page.setViewportSize({ width: 375, height: 800 });
      await page.getByRole('button', { name: 'Sign out' }).waitFor();
      await assertFitsWidth(page, 375, 'the thread');
      assert.deepEqual(await seriousAxeViolations(page), [], 'thread at 375 px');
      await screenshot(page, 'sandbox-phone-375');
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
    }
  });
});
