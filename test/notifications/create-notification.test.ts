import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { count, eq } from 'drizzle-orm';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { deliveries, notifications } from '../../src/db/schema.ts';
import type { AppError } from '../../src/errors.ts';
import { createNotification } from '../../src/notifications/create-notification.ts';
import { insertUser, notificationDeps, orderContext } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

const sample = (type: string) => getNotificationType(type)!.sampleContext;

describe(`create notification (${ENGINE})`, () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(() => t.close());

  const counts = async () => {
    const db = t.database.db;
    const [n] = await db.select({ n: count() }).from(notifications);
    const [d] = await db.select({ n: count() }).from(deliveries);
    return { notifications: n!.n, deliveries: d!.n };
  };

  test('a committed create leaves the notification and one delivery per channel of its type', async () => {
    const db = t.database.db;
    await insertUser(db, 'u-commit', { phone: '+919876543210' });
    const before = await counts();
    const deps = notificationDeps(db, ['in_app', 'sms', 'email', 'push']);
    const res = await createNotification(deps, {
      userId: 'u-commit',
      type: 'order_confirmed',
      context: orderContext,
    });
    assert.equal(res.created, true);
    const [n] = await db
      .select()
      .from(notifications)
      .where(eq(notifications.notificationId, res.notificationId));
    assert.ok(n);
    assert.match(n.title + n.message, /ORD001/);
    const ds = await db.select().from(deliveries).where(eq(deliveries.notificationId, n.id));
    const byChannel = Object.fromEntries(ds.map((d) => [d.channel, d]));
    assert.equal(byChannel['in_app']?.status, 'queued');
    // SMS is opt-in: recorded as skipped with the seed's reason, not silently absent.
    assert.equal(byChannel['sms']?.status, 'skipped');
    assert.equal(byChannel['sms']?.skipReason, 'disabled_by_user');
    assert.equal(byChannel['email']?.status, 'queued');
    assert.equal(byChannel['push']?.skipReason, 'disabled_by_user');
    const after = await counts();
    assert.equal(after.notifications - before.notifications, 1);
    assert.equal(after.deliveries - before.deliveries, ds.length);
  });

  test('a rolled-back create leaves neither notification nor deliveries', async () => {
    const db = t.database.db;
    await insertUser(db, 'u-rollback');
    const before = await counts();
    // Fail inside the transaction after the inserts: the idempotency key row is written last.
    const deps = notificationDeps(db);
    await assert.rejects(
      db.transaction(async (tx) => {
        await createNotification(
          { ...deps, db: tx as never },
          { userId: 'u-rollback', type: 'welcome', context: sample('welcome') },
        );
        throw new Error('boom after create');
      }),
      /boom after create/,
    );
    assert.deepEqual(await counts(), before);
  });

  test('the same Idempotency-Key returns the first notification and creates no second one', async () => {
    const db = t.database.db;
    await insertUser(db, 'u-idem');
    const deps = notificationDeps(db);
    const input = {
      userId: 'u-idem',
      type: 'order_confirmed',
      context: orderContext,
      idempotencyKey: 'evt-1',
    };
    const first = await createNotification(deps, input);
    const before = await counts();
    const second = await createNotification(deps, input);
    assert.equal(second.created, false);
    assert.equal(second.notificationId, first.notificationId);
    assert.deepEqual(await counts(), before);
    await assert.rejects(
      createNotification(deps, { ...input, context: { order: { order_number: 'OTHER', pickup_date: 'x' } } }),
      (err: AppError) => err.code === 'IDEMPOTENCY_CONFLICT',
    );
  });

  test('ten racing requests with one Idempotency-Key create one notification and all answer it', async () => {
    const deps = notificationDeps(t.database.db, ['in_app']);
    await insertUser(t.database.db, 'u-race');
    const before = await counts();
    const input = {
      userId: 'u-race',
      type: 'order_confirmed',
      context: orderContext,
      idempotencyKey: 'race-1',
    };
    const results = await Promise.all(Array.from({ length: 10 }, () => createNotification(deps, input)));
    assert.equal(results.filter((r) => r.created).length, 1);
    assert.equal(new Set(results.map((r) => r.notificationId)).size, 1);
    const after = await counts();
    assert.equal(after.notifications - before.notifications, 1);
  });

  test('unknown users and unknown types are refused with catalogued errors', async () => {
    const deps = notificationDeps(t.database.db);
    await assert.rejects(
      createNotification(deps, { userId: 'nobody', type: 'order_confirmed', context: orderContext }),
      (err: AppError) => err.code === 'USER_NOT_FOUND',
    );
    await insertUser(t.database.db, 'u-type');
    await assert.rejects(
      createNotification(deps, { userId: 'u-type', type: 'order_teleported', context: {} }),
      (err: AppError) => err.code === 'UNKNOWN_NOTIFICATION_TYPE',
    );
  });

  test('missing template context is refused with the variable name and creates nothing', async () => {
    await insertUser(t.database.db, 'u-missing');
    const before = await counts();
    await assert.rejects(
      createNotification(notificationDeps(t.database.db), {
        userId: 'u-missing',
        type: 'order_confirmed',
        context: {},
      }),
      (err: AppError) => err.code === 'TEMPLATE_MISSING_VAR' && /order\./.test(err.message),
    );
    assert.deepEqual(await counts(), before);
  });
});
