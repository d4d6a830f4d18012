import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page, type Request } from 'playwright-core';

/**
 * Debian's Chromium, driven by playwright-core: never a downloaded browser. Missing, the browser
 * tests fail with the command that installs it (they are part of `npm test`, not optional).
 */
export const CHROMIUM = '/usr/bin/chromium';

export function requireChromium(): void {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `The browser tests need Chromium at ${CHROMIUM}: install it with \`apt-get install chromium\` ` +
        '(as root: apt-get update && apt-get install -y --no-install-recommends chromium)',
    );
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A fresh profile per launch, removed on close, so no state carries over between runs. */
export async function launchChromium(): Promise<Browser> {
  requireChromium();
  const profile = mkdtempSync(join(tmpdir(), 'lcn-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** What went wrong in a page while a test drove it: console errors, uncaught errors, failed requests. */
export function watchPage(page: Page, allowedStatus: (url: string, status: number) => boolean) {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // Chromium reports every 4xx document as a console error; an expected one is no problem.
    const status = /status of (\d{3})/.exec(m.text())?.[1];
    if (status && allowedStatus(m.location().url, Number(status))) return;
    problems.push(`console error: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // Requests still in flight when the page starts to leave (a form post, a link): the browser aborts
  // them, which is no fault of the page (a live poll caught mid-request by a click on STOP).
  const inFlight = new Set<Request>();
  const leftBehind = new Set<Request>();
  page.on('request', (r) => {
    if (r.isNavigationRequest() && r.frame() === page.mainFrame())
      for (const q of inFlight) leftBehind.add(q);
    else inFlight.add(r);
  });
  page.on('requestfinished', (r) => inFlight.delete(r));
  page.on('requestfailed', (r) => {
    inFlight.delete(r);
    const aborted = r.failure()?.errorText === 'net::ERR_ABORTED';
    // An event stream never completes: leaving its page always ends it as "aborted".
    if (aborted && (r.resourceType() === 'eventsource' || leftBehind.has(r))) return;
    problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !allowedStatus(r.url(), r.status()))
      problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  return problems;
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown }>;
}

/**
 * axe-core's serious and critical violations on the page as it is now. axe is evaluated through
 * the DevTools protocol, which the page's CSP does not govern, so the page keeps its real policy.
 */
export async function seriousAxeViolations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: AxeViolation[] }> } }).axe;
    return (await axe.run()).violations;
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`);
}

/** Where each run leaves its screenshots for a person to look at (git-ignored). */
export const SCREENSHOTS = fileURLToPath(new URL('../../test-results/browser/', import.meta.url));

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** The console's sign-in form, filled and sent: resolves on the overview the session lands on. */
export async function signInToConsole(page: Page, baseUrl: string, key: string): Promise<void> {
  await page.goto(`${baseUrl}/console/sign-in`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Overview: Today' }).waitFor();
}

/**
 * Marks the page's document, so `sameDocument` can tell later whether a change arrived live or
 * by a reload (a reload starts a new document without the mark).
 */
export async function markDocument(page: Page): Promise<void> {
  await page.evaluate('globalThis.lcnNotReloaded = true');
}

export async function sameDocument(page: Page): Promise<boolean> {
  return (await page.evaluate('globalThis.lcnNotReloaded === true')) as boolean;
}

/**
 * The page fits `width` (wide tables scroll inside their own region instead). Waits for it: after a
 * viewport change, scripts (the chart's resize handler) re-lay the page out a moment later, so an
 * immediate measure can see the old width on a loaded machine. Fails with the width it last saw.
 */
export async function assertFitsWidth(page: Page, width: number, label: string): Promise<void> {
  const measure = () => page.evaluate<number>('document.documentElement.scrollWidth');
  try {
    await page.waitForFunction(`document.documentElement.scrollWidth <= ${width}`, undefined, {
      timeout: 10_000,
    });
  } catch {
    throw new Error(`${label} is ${await measure()} px wide at ${width} px`);
  }
}
