import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import type { RunningApp } from '../../src/app.ts';
import { CHANNELS, getNotificationType } from '../../src/catalog/catalog.ts';
import { describeDeliveryError } from '../../src/channels/delivery-error-info.ts';
import { TestClock } from '../../src/clock.ts';
import { SESSION_COOKIE } from '../../src/console/session-routes.ts';
import { formatLocalDateTime } from '../../src/console/zoned-time.ts';
import { deliveries, notifications } from '../../src/db/schema.ts';
import { deliveryStats } from '../../src/stats/delivery-stats.ts';
import { resolveWindow } from '../../src/stats/stats-window.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';
import { ConsoleClient } from './console-client.ts';
import { startConsoleApp } from './console-test-app.ts';
import { snapshotReader } from './sse-reader.ts';

const ADMIN_KEY = 'lcn_test_console_overview_key';
const context = getNotificationType('order_confirmed')!.sampleContext;

/** A fragment's text as a reader gets it: inline tags dropped, others a space, escapes undone. */
const text = (markup: string) =>
  markup
    .replace(/<\/?(?:time|strong)\b[^>]*>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replaceAll('&gt;', '>')
    .replaceAll('&lt;', '<')
    .replaceAll('&#39;', "'")
    .replaceAll('&quot;', '"')
    .replaceAll('&amp;', '&')
    .replace(/\s+/g, ' ')
    .trim();

/** The overview's "SMS providers" section, from its heading to the end of the section. */
function providersSection(page: string): string {
  const m = /<h2 id="h-providers">SMS providers<\/h2>([\s\S]*?)<\/section>/.exec(page);
  if (!m) throw new Error('no SMS providers section');
  return m[1]!;
}

/** The number a `data-stat` cell shows, as an integer. */
function cell(page: string, key: string): number {
  const m = new RegExp(`data-stat="${key.replaceAll('.', '\\.')}">([\\d,]+)<`).exec(page);
  if (!m) throw new Error(`no cell ${key}`);
  return Number(m[1]!.replaceAll(',', ''));
}

describe(`console overview and its live stream (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;

  before(async () => {
    t = await createTestDatabase();
    // No worker: the test sets each delivery's outcome itself.
    app = await startConsoleApp(t, {
      adminKey: ADMIN_KEY,
      env: {
        CONSOLE_DELIVERY_RATE_WARNING_PERCENT: '90',
        // No periodic snapshot within a test: what the stream test waits for must come from a hook.
        CONSOLE_LIVE_INTERVAL_MS: '600000',
      },
    });
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });

  const api = (method: string, path: string, body: unknown) =>
    fetch(app.url + path, {
      method,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  /** The new notification's row id (the API names it by its public notification_id). */
  async function notify(userId: string): Promise<number> {
    const res = await api('POST', '/api/v1/notifications', {
      user_id: userId,
      type: 'order_confirmed',
      context,
    });
    assert.equal(res.status, 201, await res.clone().text());
    const { notification_id } = (await res.json()) as { notification_id: string };
    const [row] = await t.database.db
      .select({ id: notifications.id })
      .from(notifications)
      .where(eq(notifications.notificationId, notification_id));
    return row!.id;
  }

  async function setInApp(notificationId: number, set: Partial<typeof deliveries.$inferInsert>) {
    await t.database.db
      .update(deliveries)
      .set(set)
      .where(and(eq(deliveries.notificationId, notificationId), eq(deliveries.channel, 'in_app')));
  }

  test('every figure on the overview is the stats module’s, failures carry their meaning, and a low rate is flagged', async () => {
    assert.equal((await api('PUT', '/api/v1/users/u-overview', { email: 'o@example.com' })).status, 201);
    const delivered = await notify('u-overview');
    const failed = await notify('u-overview');
    const unknown = await notify('u-overview');
    await setInApp(delivered, { status: 'delivered', deliveredAt: new Date() });
    await setInApp(failed, { status: 'failed', errorCode: 'TIMEOUT', failedAt: new Date() });
    // A code nothing knows, with markup in it: shown as text, never as markup.
    await setInApp(unknown, {
      status: 'failed',
      errorCode: '<img src=x onerror=alert(1)>',
      failedAt: new Date(),
    });

    const c = new ConsoleClient(app.url!);
    assert.equal((await c.signIn(ADMIN_KEY)).status, 303);
    const page = (await c.request('GET', '/console/overview')).text;
    const now = new Date();
    const stats = await deliveryStats(
      t.database.db,
      resolveWindow({ window: 'today', timeZone: 'UTC', now }),
      now,
    );
    for (const ch of CHANNELS)
      for (const field of [
        'total',
        'handed_to_provider',
        'sent',
        'delivered',
        'failed',
        'pending',
        'skipped',
      ] as const)
        assert.equal(cell(page, `${ch}.${field}`), stats.channels[ch][field], `${ch}.${field}`);
    for (const q of stats.queue) assert.equal(cell(page, `queue.${q.channel}.due`), q.due);
    assert.equal(stats.channels.in_app.delivered, 1);
    assert.equal(stats.channels.in_app.failed, 2);

    assert.match(page, /Delivery rate below 90 %/);
    assert.match(page, /<strong>In-app<\/strong>: 33\.3 % delivered/);
    const timeout = describeDeliveryError('in_app', 'TIMEOUT');
    assert.ok(timeout.known);
    assert.ok(
      page.includes(timeout.meaning.replaceAll("'", '&#39;').replaceAll('"', '&quot;')),
      'TIMEOUT meaning',
    );
    assert.ok(!page.includes('<img src=x'), 'a stored code is escaped');
    assert.ok(page.includes('&lt;img src=x onerror=alert(1)&gt;'));
    assert.match(page, /Not in the error catalogue/);
  });

  test('the live stream pushes a snapshot at once and another as soon as a notification is created; sign-out ends it at once', async () => {
    const c = new ConsoleClient(app.url!);
    assert.equal((await c.signIn(ADMIN_KEY)).status, 303);
    const res = await fetch(`${app.url}/console/live?window=today`, {
      headers: { cookie: `${SESSION_COOKIE}=${c.cookies.get(SESSION_COOKIE)}` },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const stream = snapshotReader(res);
    const nextSnapshot = stream.next;
    try {
      const first = await nextSnapshot();
      assert.ok(first);
      const before = cell(first.sections['channels']!, 'in_app.total');
      assert.equal((await api('PUT', '/api/v1/users/u-live', { email: 'l@example.com' })).status, 201);
      await notify('u-live');
      let total = before;
      while (total === before) {
        const snapshot = await nextSnapshot();
        assert.ok(snapshot, 'the stream stays open while signed in');
        total = cell(snapshot.sections['channels']!, 'in_app.total');
      }
      assert.equal(total, before + 1);

      const csrf = await c.csrfFrom('/console/overview');
      assert.equal((await c.request('POST', '/console/logout', { _csrf: csrf })).status, 303);
      // Sign-out ends the stream at once (snapshots already under way may still arrive first).
      while ((await nextSnapshot()) !== null);
    } finally {
      await stream.cancel();
    }
  });
});

describe(`console overview: SMS providers (${ENGINE})`, () => {
  const ZONE = 'Asia/Kolkata';
  // The router's backoff runs on the app's clock: the probing test steps past it.
  const clock = new TestClock();
  let t: TestDatabase;
  let app: RunningApp;

  before(async () => {
    t = await createTestDatabase();
    app = await startConsoleApp(t, {
      adminKey: ADMIN_KEY,
      env: { SMS_PROVIDERS: 'twilio,vonage', STATS_TIME_ZONE: ZONE },
      clock,
    });
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });

  async function overview(): Promise<string> {
    const c = new ConsoleClient(app.url!);
    assert.equal((await c.signIn(ADMIN_KEY)).status, 303);
    return providersSection((await c.request('GET', '/console/overview')).text);
  }
  const at = (iso: string | null) => formatLocalDateTime(new Date(iso!), ZONE);
  const row = (section: string, provider: string) => {
    const m = new RegExp(`<tr data-provider="${provider}">([\\s\\S]*?)</tr>`).exec(section);
    if (!m) throw new Error(`no row for ${provider}`);
    return text(m[1]!);
  };

  test('one row per enabled provider, at rest: in rotation, healthy, weights now/resting per route', async () => {
    const section = await overview();
    assert.equal(
      row(section, 'twilio'),
      'twilio In rotation Healthy IN 50/50 · US 70/70 · default 100/100 0 — — of 0 delivered',
    );
    assert.equal(
      row(section, 'vonage'),
      'vonage In rotation Healthy IN 50/50 · US 30/30 · default 0/0 0 — — of 0 delivered',
    );
    assert.match(text(section), /counts over the last 15 min/);
    assert.match(text(section), /No routing change since the service started\./);
  });

  test('a provider out of rotation shows since when, why and its next probe, and the change is listed with its reason', async () => {
    // The channel does not feed the router yet: report as it will, a refused connection.
    app.sms.router!.recordRequest('vonage', { result: 'not-reached' });
    const routing = app.sms.router!.snapshot();
    const vonage = routing.providers.find((p) => p.name === 'vonage')!;

    const section = await overview();
    assert.equal(
      row(section, 'vonage'),
      `vonage Out of rotation since ${at(vonage.outSince)}: connection refused next probe from ${at(vonage.nextProbeAt)} not judged while out of rotation IN 50/50 · US 30/30 · default 0/0 1 100.0 % — of 0 delivered`,
    );
    assert.match(row(section, 'twilio'), /^twilio In rotation Healthy /);
    const [change] = routing.history;
    assert.ok(change);
    assert.match(
      text(section),
      new RegExp(
        `The last 1 routing changes, newest first \\(times in ${ZONE}\\) Time Provider Change From → to Reason ${at(change.at)} vonage Rotation in → out connection refused$`,
      ),
    );
    assert.ok(section.includes(`<time datetime="${change.at}">`), 'the instant, machine-readable');
  });

  test('once its backoff is over and a request is its probe, the provider shows as probing, and the changes are newest first', async () => {
    const out = app.sms.router!.snapshot().providers.find((p) => p.name === 'vonage')!;
    assert.equal(out.state, 'out', 'the previous test took it out');
    clock.advance(Date.parse(out.nextProbeAt!) - clock.now());
    // India's route lists Vonage: the next SMS there is its probe.
    const choice = app.sms.router!.choose('IN', 1);
    assert.ok(choice.ok && choice.probe && choice.provider === 'vonage', JSON.stringify(choice));
    const history = app.sms.router!.snapshot().history;

    const section = await overview();
    assert.match(
      row(section, 'vonage'),
      new RegExp(
        `^vonage Probing: a probe request is in flight out since ${at(out.outSince)}: connection refused not judged while out of rotation `,
      ),
    );
    assert.match(
      text(section),
      new RegExp(
        `The last 2 routing changes, newest first .* Reason ${at(history[1]!.at)} vonage Rotation out → probing probe after 30 s out ${at(history[0]!.at)} vonage Rotation in → out connection refused$`,
      ),
    );
  });
});

describe(`console overview with SMS off (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;

  before(async () => {
    t = await createTestDatabase();
    app = await startConsoleApp(t, { adminKey: ADMIN_KEY, env: { SMS_ENABLED: 'false' } });
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });

  test('the SMS providers section says in one line that no provider is enabled', async () => {
    const c = new ConsoleClient(app.url!);
    assert.equal((await c.signIn(ADMIN_KEY)).status, 303);
    const section = providersSection((await c.request('GET', '/console/overview')).text);
    assert.equal(section, '<p>No SMS provider is enabled (SMS is off), so nothing is routed.</p>');
  });
});
