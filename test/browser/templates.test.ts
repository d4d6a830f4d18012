import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningApp } from '../../src/app.ts';
import { startConsoleApp } from '../console/console-test-app.ts';
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

const ADMIN_KEY = 'lcn_adm_browser_templates_key_0123456789';
const GSM_160 = `LaundryConnect: Order #{{ order.order_number }} ${'x'.repeat(135)}`;

/**
 * The template editor in a real browser: the server's counters follow the typing (1 → 2 segments past
 * 160 GSM-7 characters, UCS-2 once ₹ is typed, ₹ named), a save, the history's diff, axe, 375 px.
 */
// The page is the same on both engines; the PGlite pass covers it (as console.test.ts).
describe('template editor in Chromium', { skip: ENGINE === 'postgres' }, () => {
  let t: TestDatabase;
  let app: RunningApp;
  let browser: Browser;

  before(async () => {
    t = await createTestDatabase();
    app = await startConsoleApp(t, { adminKey: ADMIN_KEY });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await t?.close();
  });

  test('type past 160 GSM-7 characters, then ₹: segments 1 → 2, UCS-2 named; save; the diff', async () => {
    const url = app.url!;
    const page = await browser.context.newPage();
    const problems = watchPage(page, () => false);
    try {
      await signInToConsole(page, url, ADMIN_KEY);

      await page
        .getByRole('navigation', { name: 'Console' })
        .getByRole('link', { name: 'Templates' })
        .click();
      await page.getByRole('heading', { level: 1, name: 'Templates' }).waitFor();
      assert.deepEqual(await seriousAxeViolations(page), [], 'template list');
      await screenshot(page, 'templates-list-1280');

      await page.goto(`${url}/console/templates/order_ready/en/sms`);
      const source = page.getByLabel('Template source (Liquid)');
      // "LaundryConnect: Order #LC240117 " is 32 characters rendered: 32 + 128 = 160.
      await source.fill(GSM_160.replace('x'.repeat(135), 'x'.repeat(128)));
      await page.locator('#sms-characters[data-characters="160"]').waitFor();
      await page.locator('#sms-segments[data-segments="1"]').waitFor();
      await page.locator('#sms-encoding[data-encoding="GSM-7"]').waitFor();
      await source.press('Control+End');
      await source.pressSequentially('y');
      await page.locator('#sms-characters[data-characters="161"]').waitFor();
      await page.locator('#sms-segments[data-segments="2"]').waitFor();

      await source.pressSequentially(' ₹');
      await page.locator('#sms-encoding[data-encoding="UCS-2"]').waitFor();
      const forcing = page.locator('#sms-forcing[data-char="₹"]');
      await forcing.waitFor();
      assert.match((await forcing.textContent()) ?? '', /forced by “₹” \(U\+20B9\)/);
      await page.locator('#rendered-text').filter({ hasText: /y ₹$/ }).waitFor();
      await page.locator('#preview-status[data-pending="0"]').waitFor();
      assert.deepEqual(await seriousAxeViolations(page), [], 'editor with a preview');
      await screenshot(page, 'templates-editor-1280');

      await page.getByRole('button', { name: 'Save as a new version' }).click();
      await page
        .getByRole('status')
        .getByText(/Saved as version 1/)
        .waitFor();
      await source.press('Control+End');
      await source.pressSequentially('\nSee you soon!');
      // Saved only once the preview has answered, so no preview request is cut off by the navigation.
      await page.locator('#rendered-text').filter({ hasText: 'See you soon!' }).waitFor();
      await page.locator('#preview-status[data-pending="0"]').waitFor();
      await page.getByRole('button', { name: 'Save as a new version' }).click();
      await page
        .getByRole('status')
        .getByText(/Saved as version 2/)
        .waitFor();

      await page
        .locator('tr[data-version="2"]')
        .getByRole('link', { name: 'Diff with the previous version' })
        .click();
      const diff = page.locator('#diff pre.diff');
      await diff.waitFor();
      assert.equal(await diff.locator('ins').textContent(), '+ See you soon!\n');
      assert.equal(await diff.locator('del').count(), 0);
      assert.deepEqual(await seriousAxeViolations(page), [], 'editor with the history diff');

      await page.setViewportSize({ width: 375, height: 800 });
      await page.getByRole('button', { name: 'Sign out' }).waitFor();
      await assertFitsWidth(page, 375, 'the editor');
      assert.deepEqual(await seriousAxeViolations(page), [], 'editor at 375 px');
      await screenshot(page, 'templates-editor-375');
      await page.goto(`${url}/console/templates`);
      await assertFitsWidth(page, 375, 'the list');
      await screenshot(page, 'templates-list-375');
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
    }
  });
});
