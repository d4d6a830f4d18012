import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { type Db, queryRows } from '../../src/db/database.ts';
import {
  ActivityCursorError,
  type ActivityFilter,
  activityPage,
  encodeCursor,
} from '../../src/deliveries/activity-query.ts';
import { insertUser } from '../helpers/fixtures.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-db.ts';

interface Row {
  id: string;
  user: 'asha' | 'ravi';
  type: string;
  /** To the microsecond: the list's order and cursor must tell apart rows in one millisecond. */
  at: string;
  deliveries: { channel: string; status: string; error?: string; sid?: string; skip?: string }[];
}

// n5 and n6 share one instant (the id breaks the tie: n6 is inserted first, so n5 comes first),
// n3 and n4 lie in one millisecond, 1 µs apart.
const ROWS: Row[] = [
  {
    id: 'n1',
    user: 'asha',
    type: 'order_confirmed',
    at: '2026-11-30T10:00:00.000000Z',
    deliveries: [
      { channel: 'in_app', status: 'delivered' },
      { channel: 'sms', status: 'delivered', sid: 'SM0001' },
    ],
  },
  {
    id: 'n2',
    user: 'ravi',
    type: 'order_picked_up',
    at: '2026-11-30T11:00:00.000000Z',
    deliveries: [
      { channel: 'sms', status: 'failed', error: '30003', sid: 'SM0002' },
      { channel: 'email', status: 'sent' },
    ],
  },
  {
    id: 'n3',
    user: 'asha',
    type: 'order_picked_up',
    at: '2026-12-01T09:00:00.000100Z',
    deliveries: [
      { channel: 'email', status: 'failed', error: 'EMAIL_BOUNCED' },
      { channel: 'sms', status: 'delivered', sid: 'SM0003' },
    ],
  },
  {
    id: 'n4',
    user: 'ravi',
    type: 'order_confirmed',
    at: '2026-12-01T09:00:00.000101Z',
    deliveries: [{ channel: 'sms', status: 'skipped', skip: 'quiet_hours' }],
  },
  {
    id: 'n5',
    user: 'asha',
    type: 'payment_completed',
    at: '2026-12-01T12:00:00.000000Z',
    deliveries: [{ channel: 'in_app', status: 'delivered' }],
  },
  {
    id: 'n6',
    user: 'ravi',
    type: 'payment_completed',
    at: '2026-12-01T12:00:00.000000Z',
    deliveries: [
      { channel: 'sms', status: 'failed', error: '30003', sid: 'SM0006' },
      { channel: 'push', status: 'failed', error: 'PUSH_SUBSCRIPTION_GONE' },
    ],
  },
  {
    id: 'n7',
    user: 'asha',
    type: 'order_confirmed',
    at: '2026-12-02T00:00:00.000000Z',
    deliveries: [{ channel: 'sms', status: 'queued' }],
  },
  { id: 'n8', user: 'ravi', type: 'welcome', at: '2026-12-02T01:00:00.000000Z', deliveries: [] },
  {
    id: 'n9',
    user: 'asha',
    type: 'order_confirmed',
    at: '2026-12-02T02:00:00.000000Z',
    deliveries: [{ channel: 'sms', status: 'sent', sid: 'SM0009' }],
  },
];
const NEWEST_FIRST = ['n9', 'n8', 'n7', 'n5', 'n6', 'n4', 'n3', 'n2', 'n1'];

async function seed(db: Db): Promise<void> {
  const users = {
    asha: await insertUser(db, 'activity-asha'),
    ravi: await insertUser(db, 'activity-ravi'),
  };
  // Oldest first, but n6 before n5: at their shared instant n5 has the larger id.
  const order = ['n1', 'n2', 'n3', 'n4', 'n6', 'n5', 'n7', 'n8', 'n9'];
  for (const id of order) {
    const r = ROWS.find((x) => x.id === id)!;
    const [n] = await queryRows<{ id: string }>(
      db,
      sql`insert into notifications (notification_id, user_id, type, category, priority, title, message, created_at)
          values (${r.id}, ${users[r.user].id}, ${r.type}, 'order_updates', 'regular', ${`title ${r.id}`}, 'm',
                  ${r.at}::timestamptz)
          returning id`,
    );
    for (const d of r.deliveries) {
      await db.execute(
        sql`insert into deliveries (notification_id, channel, status, skip_reason, max_attempts, error_code,
              provider_message_id, attempts, created_at)
            values (${n!.id}, ${d.channel}, ${d.status}, ${d.skip ?? null}, 3, ${d.error ?? null},
              ${d.sid ?? null}, ${d.status === 'queued' ? 0 : 1}, ${r.at}::timestamptz)`,
      );
    }
  }
}

describe('activity list on a small seeded database', () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
    await seed(t.database.db);
  });
  after(() => t.close());

  const ids = async (filter: ActivityFilter, limit = 50) =>
    (await activityPage(t.database.db, filter, { limit })).items.map((i) => i.notification_id);

  /** Every page in turn, `limit` at a time: the ids in order, and the number of pages. */
  async function walk(filter: ActivityFilter, limit: number) {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await activityPage(t.database.db, filter, { limit, cursor });
      pages += 1;
      assert.ok(page.items.length <= limit);
      seen.push(...page.items.map((i) => i.notification_id));
      if (page.next_cursor === null) return { seen, pages };
      cursor = page.next_cursor;
    }
  }

  test('newest first, ties on created_at broken by id, microseconds apart kept apart', async () => {
    assert.deepEqual(await ids({}), NEWEST_FIRST);
  });

  test('paging two at a time returns every row once, in order, and ends with no cursor', async () => {
    for (const limit of [1, 2, 4]) {
      const { seen, pages } = await walk({}, limit);
      assert.deepEqual(seen, NEWEST_FIRST, `limit ${limit}`);
      assert.equal(pages, Math.ceil(NEWEST_FIRST.length / limit), `limit ${limit}`);
    }
    const exact = await activityPage(t.database.db, {}, { limit: NEWEST_FIRST.length });
    assert.equal(exact.next_cursor, null, 'a full last page does not promise another');
  });

  test('a page break between two rows of one millisecond loses neither', async () => {
    // n4 and n3 are 1 µs apart: a cursor cut to milliseconds would skip n3 or repeat n4.
    const first = await activityPage(t.database.db, {}, { limit: 6 });
    assert.equal(first.items.at(-1)?.notification_id, 'n4');
    const next = await activityPage(t.database.db, {}, { limit: 6, cursor: first.next_cursor! });
    assert.deepEqual(
      next.items.map((i) => i.notification_id),
      ['n3', 'n2', 'n1'],
    );
  });

  test('the summary: user, type, read flag, and each delivery in creation order', async () => {
    const [n6] = (await activityPage(t.database.db, { notificationId: 'n6' })).items;
    assert.deepEqual(n6, {
      notification_id: 'n6',
      user_id: 'activity-ravi',
      type: 'payment_completed',
      category: 'order_updates',
      priority: 'regular',
      title: 'title n6',
      created_at: '2026-12-01T12:00:00.000Z',
      is_read: false,
      deliveries: [
        {
          channel: 'sms',
          status: 'failed',
          skip_reason: null,
          error_code: '30003',
          provider_message_id: 'SM0006',
          attempts: 1,
        },
        {
          channel: 'push',
          status: 'failed',
          skip_reason: null,
          error_code: 'PUSH_SUBSCRIPTION_GONE',
          provider_message_id: null,
          attempts: 1,
        },
      ],
    });
    const [n8] = (await activityPage(t.database.db, { notificationId: 'n8' })).items;
    assert.deepEqual(n8?.deliveries, [], 'a notification without deliveries is listed too');
  });

  test('each filter alone', async () => {
    assert.deepEqual(await ids({ userId: 'activity-asha' }), ['n9', 'n7', 'n5', 'n3', 'n1']);
    assert.deepEqual(await ids({ userId: 'nobody' }), []);
    assert.deepEqual(await ids({ type: 'payment_completed' }), ['n5', 'n6']);
    assert.deepEqual(await ids({ channel: 'push' }), ['n6']);
    assert.deepEqual(await ids({ status: 'failed' }), ['n6', 'n3', 'n2']);
    assert.deepEqual(await ids({ status: 'queued' }), ['n7']);
    assert.deepEqual(await ids({ errorCode: '30003' }), ['n6', 'n2']);
    assert.deepEqual(await ids({ providerMessageId: 'SM0003' }), ['n3']);
    assert.deepEqual(await ids({ providerMessageId: 'SM9999' }), []);
    assert.deepEqual(await ids({ notificationId: 'n4' }), ['n4']);
  });

  test('the delivery filters hold for one delivery together', async () => {
    // n3's email failed and its SMS was delivered: it is not "an SMS that failed".
    assert.deepEqual(await ids({ channel: 'sms', status: 'failed' }), ['n6', 'n2']);
    assert.deepEqual(await ids({ channel: 'email', status: 'failed' }), ['n3']);
    assert.deepEqual(await ids({ channel: 'email', errorCode: '30003' }), []);
    assert.deepEqual(await ids({ channel: 'sms', status: 'skipped' }), ['n4']);
  });

  test('the time range is [from, to) on created_at', async () => {
    const range = { from: new Date('2026-12-01T09:00:00.000Z'), to: new Date('2026-12-02T00:00:00.000Z') };
    assert.deepEqual(await ids(range), ['n5', 'n6', 'n4', 'n3']);
    assert.deepEqual(await ids({ from: new Date('2026-12-02T00:00:00.000Z') }), ['n9', 'n8', 'n7']);
    assert.deepEqual(await ids({ to: new Date('2026-11-30T11:00:00.000Z') }), ['n1']);
  });

  test('filters combine, and a filtered list pages like the whole one', async () => {
    assert.deepEqual(await ids({ userId: 'activity-ravi', status: 'failed' }), ['n6', 'n2']);
    assert.deepEqual(await ids({ userId: 'activity-asha', type: 'order_confirmed', channel: 'sms' }), [
      'n9',
      'n7',
      'n1',
    ]);
    const { seen, pages } = await walk({ userId: 'activity-asha' }, 2);
    assert.deepEqual(seen, ['n9', 'n7', 'n5', 'n3', 'n1']);
    assert.equal(pages, 3);
    const sms = await walk({ channel: 'sms', from: new Date('2026-11-30T10:30:00Z') }, 1);
    assert.deepEqual(sms.seen, ['n9', 'n7', 'n6', 'n4', 'n3', 'n2']);
  });

  test('a cursor this list did not issue, and a limit out of range, are refused', async () => {
    for (const cursor of [
      'not-base64-json',
      Buffer.from('{"at":1}').toString('base64url'),
      Buffer.from(JSON.stringify(['2026-12-01T00:00:00Z', '5'])).toString('base64url'),
      encodeCursor({ at: "2026-12-01T00:00:00.000000Z'; drop table users; --", id: '5' }),
      encodeCursor({ at: '2026-12-01T00:00:00.000000Z', id: '0' }),
    ]) {
      await assert.rejects(activityPage(t.database.db, {}, { cursor }), ActivityCursorError, cursor);
    }
    for (const limit of [0, -1, 1.5, 201]) {
      await assert.rejects(activityPage(t.database.db, {}, { limit }), RangeError, String(limit));
    }
  });
});

// Past 10,000 matching deliveries a delivery filter walks the notifications newest first instead
// of reading its matches (activity-query.ts): both ways must list the same rows, page by page.
describe('activity list with a delivery filter matched by more than 10,000 deliveries', () => {
  const COUNT = 10_400;
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
    const db = t.database.db;
    const user = await insertUser(db, 'activity-many');
    const other = await insertUser(db, 'activity-few');
    // One a minute; every 13th the other user's, with a delivered SMS; the rest a failed SMS,
    // and every 7th of those also a failed email (two matches, listed once).
    await db.execute(sql`
      with n as (
        insert into notifications (notification_id, user_id, type, category, priority, title, message, created_at)
        select 'many-' || g, case when g % 13 = 0 then ${other.id}::bigint else ${user.id}::bigint end,
               'order_confirmed', 'order_updates', 'regular', 't', 'm',
               timestamptz '2026-11-01T00:00:00Z' + g * interval '1 minute'
        from generate_series(1, ${COUNT}::int) g
        returning id, notification_id, created_at
      ), g as (select n.*, substr(n.notification_id, 6)::int as g from n)
      insert into deliveries (notification_id, channel, status, max_attempts, attempts, error_code, created_at)
      select g.id, c.channel, case when g.g % 13 = 0 then 'delivered' else 'failed' end, 3, 1,
             case when g.g % 13 <> 0 then '30003' end, g.created_at
      from g cross join (values ('sms'), ('email')) c(channel)
      where c.channel = 'sms' or (g.g % 13 <> 0 and g.g % 7 = 0)`);
  });
  after(() => t.close());

  /** The filter's rows as a plain query lists them, newest first. */
  async function expected(where: ReturnType<typeof sql>, user?: string): Promise<string[]> {
    const rows = await queryRows<{ notification_id: string }>(
      t.database.db,
      sql`select n.notification_id from notifications n
          where exists (select 1 from deliveries d where d.notification_id = n.id and ${where})
            ${user ? sql`and n.user_id = (select id from users where external_id = ${user})` : sql``}
          order by n.created_at desc, n.id desc`,
    );
    return rows.map((r) => r.notification_id);
  }

  async function firstPages(filter: ActivityFilter, pages: number, limit = 200): Promise<string[]> {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < pages; i++) {
      const page = await activityPage(t.database.db, filter, { limit, cursor });
      seen.push(...page.items.map((x) => x.notification_id));
      if (!page.next_cursor) break;
      cursor = page.next_cursor;
    }
    return seen;
  }

  test('common filters (walked: 10,971 failed deliveries) page as the plain query lists', async () => {
    const failed = await expected(sql`d.status = 'failed'`);
    assert.ok(failed.length > 9_000);
    assert.deepEqual(await firstPages({ status: 'failed' }, 3), failed.slice(0, 600));
    // Past the walk's first pages: a cursor deep in the list.
    const all = await firstPages({ errorCode: '30003' }, 100);
    assert.deepEqual(all, await expected(sql`d.error_code = '30003'`));
  });

  test('rare filters (their matches read) list the same as the plain query', async () => {
    const delivered = await expected(sql`d.status = 'delivered'`);
    assert.equal(delivered.length, Math.floor(COUNT / 13));
    assert.deepEqual(await firstPages({ status: 'delivered' }, 10), delivered);
    assert.deepEqual(await firstPages({ channel: 'email', status: 'delivered' }, 1), []);
    // 9,600 failed SMS are rare too; with the user's filter and a cursor on top.
    assert.deepEqual(
      await firstPages({ status: 'failed', channel: 'sms', userId: 'activity-many' }, 2, 50),
      (await expected(sql`d.status = 'failed' and d.channel = 'sms'`, 'activity-many')).slice(0, 100),
    );
  });
});
