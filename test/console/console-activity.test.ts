import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningApp } from '../../src/app.ts';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { activityCsv, csvCell, csvLine } from '../../src/console/activity-csv.ts';
import { SESSION_COOKIE } from '../../src/console/session-routes.ts';
import { deliveries, notifications } from '../../src/db/schema.ts';
import { createNotification } from '../../src/notifications/create-notification.ts';
import { localDateTimeInstant } from '../../src/time-zone.ts';
import { insertUser, notificationDeps } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';
import { ConsoleClient } from './console-client.ts';
import { startConsoleApp } from './console-test-app.ts';
import { snapshotReader } from './sse-reader.ts';

const ADMIN_KEY = 'lcn_test_console_activity_key';
const ZONE = 'Asia/Kolkata';

describe(`console activity list, its CSV export and live stream (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  let admin: ConsoleClient;
  let viewer: ConsoleClient;

  interface Seed {
    user: number;
    id: string;
    at: Date;
    deliveries: Array<Partial<typeof deliveries.$inferInsert> & { channel: string }>;
  }

  /** Notifications with their deliveries as given, set directly (no worker runs), in two statements. */
  async function seed(rows: Seed[]) {
    const made = await t.database.db
      .insert(notifications)
      .values(
        rows.map((r) => ({
          notificationId: r.id,
          userId: r.user,
          type: 'order_confirmed',
          category: 'order_updates',
          priority: 'regular',
          title: 'Order confirmed',
          message: 'Your order is confirmed',
          createdAt: r.at,
        })),
      )
      .returning();
    const rowId = new Map(made.map((n) => [n.notificationId, n.id]));
    await t.database.db.insert(deliveries).values(
      rows.flatMap((r) =>
        r.deliveries.map((d) => ({
          status: 'delivered' as const,
          maxAttempts: 3,
          ...d,
          notificationId: rowId.get(r.id)!,
        })),
      ),
    );
  }

  before(async () => {
    t = await createTestDatabase();
    app = await startConsoleApp(t, {
      adminKey: ADMIN_KEY,
      // No periodic snapshot within a test: the one waited for comes from the NOTIFY.
      env: {
        STATS_TIME_ZONE: ZONE,
        CONSOLE_LIVE_INTERVAL_MS: '600000',
        // The seeding below keeps the loop busy on a loaded machine; this test is not about shedding load.
        OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
      },
    });
    const asha = await insertUser(t.database.db, 'act-asha');
    const ravi = await insertUser(t.database.db, '=HYPERLINK("http://x",1)');
    const base = Date.parse('2026-11-20T10:00:00Z');
    // 55 of Asha's, one a minute: more than a page (50).
    await seed([
      ...Array.from({ length: 55 }, (_, i) => ({
        user: asha.id,
        id: `act-a-${String(i).padStart(2, '0')}`,
        at: new Date(base + i * 60_000),
        deliveries: [
          { channel: 'in_app' },
          i === 3
            ? {
                channel: 'sms',
                status: 'failed' as const,
                errorCode: '30003',
                providerMessageId: 'SMact3',
                attempts: 3,
              }
            : { channel: 'sms', status: 'skipped' as const, skipReason: 'disabled_by_user' },
        ],
      })),
      {
        user: ravi.id,
        id: 'act-r-1',
        at: new Date(base + 3_600_000 * 24),
        deliveries: [{ channel: 'email', status: 'failed', errorCode: 'a,"b"\nc', attempts: 1 }],
      },
    ]);
    admin = new ConsoleClient(app.url!);
    assert.equal((await admin.signIn(ADMIN_KEY)).status, 303);
    viewer = new ConsoleClient(app.url!);
    assert.equal(
      (await viewer.signIn(await createApiKey(t.database.db, 'activity viewer', 'viewer'))).status,
      303,
    );
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });

  const ids = (page: string) => [...page.matchAll(/\/console\/notifications\/([\w-]+)"/g)].map((m) => m[1]);

  test('the list: newest first, filtered, the user linked, statuses with their reasons, and Older pages by cursor', async () => {
    const all = await viewer.request('GET', '/console/activity');
    assert.equal(all.status, 200);
    assert.match(all.text, /<a href="\/console\/activity" aria-current="page">Activity<\/a>/);
    assert.deepEqual(ids(all.text).slice(0, 2), ['act-r-1', 'act-a-54']);
    assert.equal(ids(all.text).length, 50);
    assert.match(all.text, /Times are in Asia\/Kolkata \(STATS_TIME_ZONE\)/);
    assert.match(all.text, /<label for="f-status">Delivery status<\/label>/);
    assert.match(all.text, /<option value="failed">failed<\/option>/);

    const older = /<a rel="next" href="([^"]+)">Older<\/a>/.exec(all.text)?.[1]?.replaceAll('&amp;', '&');
    assert.ok(older, 'an Older link');
    const second = await viewer.request('GET', older);
    assert.deepEqual(ids(second.text), [
      'act-a-05',
      'act-a-04',
      'act-a-03',
      'act-a-02',
      'act-a-01',
      'act-a-00',
    ]);
    assert.doesNotMatch(second.text, /rel="next"/);
    assert.match(second.text, /An older page: it does not update live/);

    const failedSms = await viewer.request(
      'GET',
      '/console/activity?user=&type=&channel=sms&status=failed&error_code=&from=&to=&notification_id=&sid=',
    );
    assert.deepEqual(ids(failedSms.text), ['act-a-03']);
    assert.match(failedSms.text, /<span class="badge status-failed">SMS: failed <code>30003<\/code><\/span>/);
    assert.match(failedSms.text, /<a href="\/console\/activity\?user=act-asha">act-asha<\/a>/);
    assert.deepEqual(ids((await viewer.request('GET', '/console/activity?sid=SMact3')).text), ['act-a-03']);
    assert.match(
      (await viewer.request('GET', '/console/activity?status=skipped')).text,
      /SMS: skipped <code>disabled_by_user<\/code>/,
    );
    // 10:00Z is 15:30 in Kolkata: [15:31, 15:33) local holds the notifications of 10:01 and 10:02 UTC.
    const range = await viewer.request(
      'GET',
      '/console/activity?user=act-asha&from=2026-11-20T15:31&to=2026-11-20T15:33',
    );
    assert.deepEqual(ids(range.text), ['act-a-02', 'act-a-01']);
  });

  test('a wrong filter is a 400 page naming the field', async () => {
    for (const [query, field] of [
      ['status=lost', 'query.status'],
      ['channel=fax', 'query.channel'],
      ['from=yesterday', 'query.from'],
      ['from=2026-02-30T10:00', 'query.from'],
      ['from=2026-11-20T10:00&to=2026-11-20T09:00', 'query.to'],
      ['cursor=bm9wZQ', 'query.cursor'],
      ['colour=red', 'query.colour'],
    ] as const) {
      const res = await viewer.request('GET', `/console/activity?${query}`);
      assert.equal(res.status, 400, query);
      assert.ok(res.text.includes(`${field}:`), `${query}: ${res.text.slice(0, 2000)}`);
    }
  });

  test('the datetime-local fields are read in the console zone, and a date that does not exist is refused', () => {
    assert.equal(localDateTimeInstant('2026-11-20T15:30', ZONE)?.toISOString(), '2026-11-20T10:00:00.000Z');
    assert.equal(
      localDateTimeInstant('2026-11-20T15:30:15', 'UTC')?.toISOString(),
      '2026-11-20T15:30:15.000Z',
    );
    assert.equal(localDateTimeInstant('2026-02-29T10:00', 'UTC'), undefined);
    assert.equal(localDateTimeInstant('2026-11-20 10:00', 'UTC'), undefined);
  });

  test('CSV cells are quoted where they must be and never start a formula', () => {
    assert.equal(csvCell('plain'), 'plain');
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(csvCell('say "hi"'), '"say ""hi"""');
    assert.equal(csvCell('two\nlines'), '"two\nlines"');
    for (const lead of ['=', '+', '-', '@']) assert.equal(csvCell(`${lead}1+1`), `'${lead}1+1`);
    assert.equal(csvCell('=SUM(A1,A2)'), `"'=SUM(A1,A2)"`);
    assert.equal(csvCell(3), '3');
    assert.equal(csvCell(null), '');
    assert.equal(csvLine(['a', null, 2]), 'a,,2\r\n');
  });

  test('the export streams every matching delivery, page by page, and a viewer may take it', async () => {
    const res = await viewer.request('GET', '/console/activity.csv?user=act-asha');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/csv/);
    assert.match(
      res.headers.get('content-disposition') ?? '',
      /^attachment; filename="activity-[\dT-]+Z\.csv"$/,
    );
    const lines = res.text.trimEnd().split('\r\n');
    assert.equal(
      lines[0],
      'notification_id,created_at,user_id,type,channel,status,skip_reason,error_code,provider_message_id,attempts',
    );
    assert.equal(lines.length, 1 + 55 * 2, 'every delivery of every page, not the first 50');
    assert.ok(
      lines.includes('act-a-03,2026-11-20T10:03:00.000Z,act-asha,order_confirmed,sms,failed,,30003,SMact3,3'),
    );

    // The delivery filters pick the rows: only the SMS that failed, not its in-app sibling.
    const failed = await viewer.request('GET', '/console/activity.csv?channel=sms&status=failed');
    assert.equal(failed.text.trimEnd().split('\r\n').length, 2);

    const ravi = await viewer.request('GET', '/console/activity.csv?notification_id=act-r-1');
    assert.equal(
      ravi.text.split('\r\n')[1],
      `act-r-1,2026-11-21T10:00:00.000Z,"'=HYPERLINK(""http://x"",1)",order_confirmed,email,failed,,"a,""b""\nc",,1`,
    );

    // Small pages: the cursor walk gives the same rows as one big page.
    const chunks: string[] = [];
    for await (const chunk of activityCsv(t.database.db, { userId: 'act-asha' }, 7)) chunks.push(chunk);
    assert.equal(chunks.join(''), res.text);

    assert.equal((await new ConsoleClient(app.url!).request('GET', '/console/activity.csv')).status, 303);
  });

  test('the first page is live: a new notification matching the filter arrives on the stream', async () => {
    const res = await fetch(`${app.url}/console/activity/live?user=act-live`, {
      headers: { cookie: `${SESSION_COOKIE}=${viewer.cookies.get(SESSION_COOKIE)}` },
    });
    assert.equal(res.status, 200);
    const stream = snapshotReader(res);
    try {
      const first = await stream.next();
      assert.match(first!.sections['activity-results']!, /No notification matches these filters/);
      await insertUser(t.database.db, 'act-live');
      const { notificationId } = await createNotification(notificationDeps(t.database.db), {
        userId: 'act-live',
        type: 'order_confirmed',
        context: getNotificationType('order_confirmed')!.sampleContext,
      });
      for (;;) {
        const snapshot = await stream.next();
        assert.ok(snapshot, 'the stream stays open');
        if (snapshot.sections['activity-results']!.includes(notificationId)) break;
      }
    } finally {
      await stream.cancel();
    }
    const paged = await viewer.request('GET', '/console/activity/live?cursor=x');
    assert.equal(paged.status, 400);
  });
});
