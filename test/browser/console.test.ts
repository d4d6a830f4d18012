import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { ENGINE } from '../helpers/test-db.ts';
import { type CliProcess, listeningUrl, runCli, tempDataDir } from '../process/cli.ts';
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

const ADMIN_KEY = 'lcn_adm_browser_test_key_0123456789abcdef';

/**
 * The console in a real browser against `serve` as `npm start` runs it: sign-in (a wrong key first),
 * the overview, a notification made over the API showing up without a reload, axe-core, 375 px.
 */
// `serve` as `npm start` runs it is the embedded engine: the PGlite pass covers it, the PostgreSQL
// pass would run the very same thing again (as test/process/npm-start.test.ts).
describe('operator console in Chromium', { skip: ENGINE === 'postgres' }, () => {
  const data = tempDataDir();
  let server: CliProcess;
  let url: string;
  let browser: Browser;

  before(async () => {
    browser = await launchChromium();
    server = runCli(['serve'], {
      DATA_DIR: data.dir,
      PORT: '0',
      ADMIN_API_KEY: ADMIN_KEY,
      QUIET_HOURS_DEFAULT: 'off',
    });
    // A fresh embedded database starts in seconds idle, but a minute on a loaded 2-core machine.
    url = await listeningUrl(server, 180_000);
  });
  after(async () => {
    await browser?.close();
    server?.kill();
    data.remove();
  });

  test('the start-up banner prints the console URL', async () => {
    const m = await server.waitForOutput(/^Console: (\S+)/m);
    assert.equal(m[1], `${url}/console`);
  });

  test('sign in (a wrong key refused first), see the overview, and watch a new notification arrive live', async () => {
    const page = await browser.context.newPage();
    // The one refusal the test provokes: the wrong key's 401 sign-in page.
    const problems = watchPage(page, (u, status) => status === 401 && u === `${url}/console/sign-in`);
    try {
      await page.goto(`${url}/console`);
      assert.equal(new URL(page.url()).pathname, '/console/sign-in');
      assert.deepEqual(await seriousAxeViolations(page), [], 'sign-in page');

      await page.getByLabel('API key').fill('lcn_adm_wrong_key');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').getByText('That API key is not valid').waitFor();
      assert.deepEqual(await seriousAxeViolations(page), [], 'sign-in page with its error');
      await screenshot(page, 'sign-in-refused-1280');

      await page.getByLabel('API key').fill(ADMIN_KEY);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { level: 1, name: 'Overview: Today' }).waitFor();
      await page.getByRole('status').getByText('Live: updates as deliveries change.').waitFor();
      // The chart drew (uPlot's canvas inside the figure).
      await page.locator('#volume-chart canvas').first().waitFor();
      assert.deepEqual(await seriousAxeViolations(page), [], 'overview');

      const created = page.locator('[data-stat="in_app.total"]');
      assert.equal(await created.textContent(), '0');
      // Marks this document: a reload would lose it.
      await markDocument(page);

      const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
      const put = await fetch(`${url}/api/v1/users/u-console`, {
        method: 'PUT',
        headers,
        body: JSON.stringify({ email: 'meera@example.com', first_name: 'Meera' }),
      });
      assert.equal(put.status, 201, await put.clone().text());
      const post = await fetch(`${url}/api/v1/notifications`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          user_id: 'u-console',
          type: 'order_confirmed',
          context: getNotificationType('order_confirmed')!.sampleContext,
        }),
      });
      assert.equal(post.status, 201, await post.clone().text());

      // Each update replaces the cells; a locator finds the new ones.
      await page
        .locator('[data-stat="in_app.total"]')
        .filter({ hasText: /^1$/ })
        .waitFor({ timeout: 30_000 });
      await page
        .locator('[data-stat="in_app.delivered"]')
        .filter({ hasText: /^1$/ })
        .waitFor({ timeout: 30_000 });
      await screenshot(page, 'overview-1280');
      assert.equal(await sameDocument(page), true, 'updated without a reload');

      // The key is nowhere the page can reach: not in its markup, not in a cookie script can read.
      assert.ok(!(await page.content()).includes(ADMIN_KEY));
      // (Strings evaluate through DevTools, outside the page's CSP; the DOM types are not loaded here.)
      assert.equal(await page.evaluate('document.cookie'), '');

      await page.setViewportSize({ width: 375, height: 800 });
      await page.getByRole('button', { name: 'Sign out' }).waitFor();
      await assertFitsWidth(page, 375, 'the overview');
      assert.deepEqual(await seriousAxeViolations(page), [], 'overview at 375 px');
      await screenshot(page, 'overview-375');

      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { level: 1, name: 'Sign in to the console' }).waitFor();
      await page.goto(`${url}/console/overview`);
      assert.equal(new URL(page.url()).pathname, '/console/sign-in', 'signed out');
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
    }
  });
});
