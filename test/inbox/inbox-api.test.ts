import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import { SignJWT } from 'jose';
import type { RunningApp } from '../../src/app.ts';
import { ISSUER } from '../../src/auth/user-tokens.ts';
import { notificationPreferences, users } from '../../src/db/schema.ts';
import { ADMIN_KEY, startSmsApp } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';
import { call, notifyOverHttp, userWithToken, waitInInbox } from './helpers.ts';

const SECRET = 'inbox-test-secret-0123456789abcdefghijkl';

describe(`in-app inbox API (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  let url: string;
  before(async () => {
    t = await createTestDatabase();
    app = await startSmsApp(t, { USER_TOKEN_SECRET: SECRET });
    url = app.url!;
  });
  after(async () => {
    try {
      await app?.close();
    } finally {
      await t?.close();
    }
  });

  test('a user lists their inbox newest first, page by page, with the seed Notification fields', async () => {
    const token = await userWithToken(url, 'inbox-pages');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await notifyOverHttp(url, 'inbox-pages'));
    await waitInInbox(app, token, ids[4]!);
    await waitInInbox(app, token, ids[0]!);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : '';
      const page = await call(url, 'GET', `/api/v1/inbox?limit=2${q}`, { token });
      assert.equal(page.status, 200);
      assert.ok(page.body.notifications.length <= 2);
      seen.push(...page.body.notifications.map((n: { notification_id: string }) => n.notification_id));
      cursor = page.body.next_cursor;
      pages++;
    } while (cursor);
    assert.deepEqual(seen, [...ids].reverse());
    assert.equal(pages, 3);

    const first = (await call(url, 'GET', '/api/v1/inbox?limit=1', { token })).body.notifications[0];
    assert.deepEqual(Object.keys(first).sort(), [
      'category',
      'context',
      'created_at',
      'is_read',
      'message',
      'metadata',
      'notification_id',
      'priority',
      'read_at',
      'title',
      'type',
    ]);
    assert.equal(first.type, 'order_confirmed');
    assert.equal(first.title, 'Order confirmed');
    assert.match(first.message, /LC240117/);
    assert.equal(first.is_read, false);
    assert.equal(first.read_at, null);
  });

  test('unread count, unread filter, mark one read (idempotent) and mark all read', async () => {
    const token = await userWithToken(url, 'inbox-read');
    const a = await notifyOverHttp(url, 'inbox-read');
    const b = await notifyOverHttp(url, 'inbox-read');
    const c = await notifyOverHttp(url, 'inbox-read');
    for (const id of [a, b, c]) await waitInInbox(app, token, id);
    const count = async () => (await call(url, 'GET', '/api/v1/inbox/unread-count', { token })).body;
    assert.deepEqual(await count(), { unread_count: 3 });

    const read = await call(url, 'POST', `/api/v1/inbox/${b}/read`, { token });
    assert.equal(read.status, 200);
    assert.equal(read.body.notification_id, b);
    assert.equal(read.body.is_read, true);
    assert.ok(Date.parse(read.body.read_at) > 0);
    const again = await call(url, 'POST', `/api/v1/inbox/${b}/read`, { token });
    assert.equal(again.body.read_at, read.body.read_at, 'marking again keeps the first read_at');
    assert.deepEqual(await count(), { unread_count: 2 });

    const unread = await call(url, 'GET', '/api/v1/inbox?unread=true', { token });
    assert.deepEqual(
      unread.body.notifications.map((n: { notification_id: string }) => n.notification_id),
      [c, a],
    );

    const all = await call(url, 'POST', '/api/v1/inbox/read-all', { token });
    assert.equal(all.status, 200);
    assert.equal(all.body.marked, 2);
    assert.deepEqual(await count(), { unread_count: 0 });
    const none = await call(url, 'POST', '/api/v1/inbox/read-all', { token });
    assert.deepEqual(none.body, { marked: 0, read_at: null });
  });

  test("user A's token cannot list, count, mark or page through user B's inbox: 404", async () => {
    const tokenA = await userWithToken(url, 'inbox-a');
    const tokenB = await userWithToken(url, 'inbox-b');
    const bId = await notifyOverHttp(url, 'inbox-b');
    await waitInInbox(app, tokenB, bId);

    for (const path of ['/api/v1/inbox?user_id=inbox-b', '/api/v1/inbox/unread-count?user_id=inbox-b']) {
      const res = await call(url, 'GET', path, { token: tokenA });
      assert.equal(res.status, 404, path);
      assert.equal(res.body.code, 'USER_NOT_FOUND');
    }
    const mark = await call(url, 'POST', `/api/v1/inbox/${bId}/read`, { token: tokenA });
    assert.equal(mark.status, 404);
    assert.equal(mark.body.code, 'NOTIFICATION_NOT_FOUND');
    const cursor = await call(url, 'GET', `/api/v1/inbox?cursor=${bId}`, { token: tokenA });
    assert.equal(cursor.status, 400, "another user's notification is no cursor");
    const markAll = await call(url, 'POST', '/api/v1/inbox/read-all?user_id=inbox-b', { token: tokenA });
    assert.equal(markAll.status, 404);

    const still = await call(url, 'GET', '/api/v1/inbox', { token: tokenB });
    assert.equal(still.body.notifications[0].is_read, false, "B's notification is untouched");
  });

  test('the backend reads and marks any inbox with its API key and user_id', async () => {
    const token = await userWithToken(url, 'inbox-backend');
    const id = await notifyOverHttp(url, 'inbox-backend');
    await waitInInbox(app, token, id);
    const list = await call(url, 'GET', '/api/v1/inbox?user_id=inbox-backend', { token: ADMIN_KEY });
    assert.equal(list.status, 200);
    assert.equal(list.body.notifications[0].notification_id, id);
    const read = await call(url, 'POST', `/api/v1/inbox/${id}/read?user_id=inbox-backend`, {
      token: ADMIN_KEY,
    });
    assert.equal(read.body.is_read, true);
    const noUser = await call(url, 'GET', '/api/v1/inbox', { token: ADMIN_KEY });
    assert.equal(noUser.status, 400, 'an API key must name the user');
    const unknown = await call(url, 'GET', '/api/v1/inbox?user_id=nobody', { token: ADMIN_KEY });
    assert.equal(unknown.status, 404);
  });

  test('no credential, an expired token and a forged token are 401', async () => {
    await userWithToken(url, 'inbox-auth');
    const sign = (secret: string, exp: number) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('inbox-auth')
        .setIssuer(ISSUER)
        .setExpirationTime(exp)
        .sign(new TextEncoder().encode(secret));
    const now = Math.floor(Date.now() / 1000);
    const cases = {
      none: undefined,
      expired: await sign(SECRET, now - 60),
      forged: await sign('not-the-secret-0123456789abcdefghijklmn', now + 600),
    };
    for (const [name, token] of Object.entries(cases)) {
      const res = await call(url, 'GET', '/api/v1/inbox', { token });
      assert.equal(res.status, 401, name);
      assert.equal(res.body.code, 'UNAUTHORIZED');
    }
    const expired = await call(url, 'GET', '/api/v1/inbox', { token: cases.expired });
    assert.match(expired.body.detail, /expired/);
    const valid = await call(url, 'GET', '/api/v1/inbox', { token: await sign(SECRET, now + 600) });
    assert.equal(valid.status, 200, 'a token the backend signed with the shared secret works');
  });

  test('a notification whose in-app channel the user turned off is not in the inbox', async () => {
    // The in-app delivery is skipped, so there is nothing to show; the list stays consistent with the socket.
    const token = await userWithToken(url, 'inbox-off');
    const [user] = await t.database.db.select().from(users).where(eq(users.externalId, 'inbox-off'));
    await t.database.db
      .insert(notificationPreferences)
      .values({ userId: user!.id, category: 'order_updates', channel: 'in_app', enabled: false });
    const hidden = await notifyOverHttp(url, 'inbox-off');
    const shown = await notifyOverHttp(url, 'inbox-off', 'welcome');
    await waitInInbox(app, token, shown);
    const ids = (await call(url, 'GET', '/api/v1/inbox', { token })).body.notifications.map(
      (n: { notification_id: string }) => n.notification_id,
    );
    assert.deepEqual(ids, [shown]);
    assert.ok(!ids.includes(hidden));
  });
});
