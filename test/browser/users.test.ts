import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningApp } from '../../src/app.ts';
import { startConsoleApp } from '../console/console-test-app.ts';
import { insertUser } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';
import {
  assertFitsWidth,
  type Browser,
  launchChromium,
  screenshot,
  seriousAxeViolations,
  signInToConsole,
  watchPage,
} from './browser.ts';

const ADMIN_KEY = 'lcn_adm_browser_users_key_0123456789abcdef';

// In-process on PGlite; the PostgreSQL pass would drive the same pages again (as console.test.ts).
describe('console users pages in Chromium', { skip: ENGINE === 'postgres' }, () => {
  let t: TestDatabase;
  let app: RunningApp;
  let browser: Browser;

  before(async () => {
    t = await createTestDatabase();
    app = await startConsoleApp(t, { adminKey: ADMIN_KEY });
    browser = await launchChromium();
    await insertUser(t.database.db, 'u-browser', {
      email: 'lakshmi@example.com',
      phone: '+919876500011',
      firstName: 'Lakshmi',
    });
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await t?.close();
  });

  test('find a user, turn SMS on for a category, save, and see it saved and in the audit log', async () => {
    const page = await browser.context.newPage();
    const problems = watchPage(page, () => false);
    try {
      await signInToConsole(page, app.url!, ADMIN_KEY);

      await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Users' }).click();
      await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
      await page.getByLabel('User id, email or phone').fill('lakshmi@example.com');
      await page.getByRole('button', { name: 'Find' }).click();
      await page.getByRole('link', { name: 'u-browser' }).waitFor();
      assert.deepEqual(await seriousAxeViolations(page), [], 'search results');
      await screenshot(page, 'users-search-1280');

      await page.getByRole('link', { name: 'u-browser' }).click();
      await page.getByRole('heading', { level: 1, name: 'User u-browser' }).waitFor();
      assert.ok(!(await page.content()).includes('9876500011'), 'the phone is masked');
      const sms = page.getByLabel('Order updates: SMS');
      assert.equal(await sms.isChecked(), false, 'SMS is opt-in');
      assert.deepEqual(await seriousAxeViolations(page), [], 'user page');
      await screenshot(page, 'users-user-1280');

      await sms.check();
      await page.getByRole('button', { name: 'Save preferences' }).click();
      await page.getByRole('status').getByText('Preferences saved.').waitFor();
      assert.equal(await page.getByLabel('Order updates: SMS').isChecked(), true, 'saved');
      await page.locator('#sms-state').getByText('Opted in').waitFor();
      await page.locator('#sms-history').getByText('off → on').waitFor();
      assert.deepEqual(await seriousAxeViolations(page), [], 'user page after saving');

      await page.getByRole('link', { name: 'Console changes to this user' }).click();
      await page.getByRole('heading', { level: 1, name: 'Audit log: user u-browser' }).waitFor();
      await page.getByRole('cell').getByText('preference.changed').waitFor();
      await page.locator('dl.changes dt', { hasText: 'order_updates_sms' }).waitFor();

      await page.goto(`${app.url}/console/users/u-browser`);
      await page.setViewportSize({ width: 375, height: 800 });
      await page.getByRole('button', { name: 'Save preferences' }).waitFor();
      await assertFitsWidth(page, 375, 'the user page');
      assert.deepEqual(await seriousAxeViolations(page), [], 'user page at 375 px');
      await screenshot(page, 'users-user-375');

      await page.goto(`${app.url}/console/users?q=u-browser`);
      await page.getByRole('link', { name: 'u-browser' }).waitFor();
      await assertFitsWidth(page, 375, 'the search page');
      assert.deepEqual(await seriousAxeViolations(page), [], 'search at 375 px');
      await screenshot(page, 'users-search-375');
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
    }
  });
});
