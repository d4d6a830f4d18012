import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import type { ChannelName } from '../../src/catalog/catalog.ts';
import { queryRows } from '../../src/db/database.ts';
import { DELIVERY_STATUSES, type DeliveryStatus, deliveries, notifications } from '../../src/db/schema.ts';
import { applyProviderStatuses } from '../../src/deliveries/apply-provider-statuses.ts';
import { cancelDeliveries } from '../../src/deliveries/cancel-deliveries.ts';
import { claimDue } from '../../src/deliveries/claim.ts';
import { completeBatch } from '../../src/deliveries/complete.ts';
import { createFallbackDeliveries, type FallbackEvent } from '../../src/deliveries/fallback-deliveries.ts';
import { reapExpiredLeases } from '../../src/deliveries/reap.ts';
import { resendFailedDelivery } from '../../src/deliveries/resend.ts';
import {
  canTransition,
  type DeliveryEvent,
  TRANSITIONS,
  TRANSITIONS_JSON,
  type WritePath,
} from '../../src/deliveries/state-machine.ts';
import { supersedeDeliveries } from '../../src/deliveries/supersede-deliveries.ts';
import { flushDigests } from '../../src/digest/digest-flusher.ts';
import { optOutOfSms } from '../../src/preferences/sms-opt-out.ts';
import { insertUser } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

/**
 * Every event of the state machine, fired through its real write path from every status: the
 * allowed from-states move to the table's to-state, every other status is left as it was. A new
 * event whose write path has no driver here fails the first test.
 */

const HOUR = 3_600_000;
let t: TestDatabase;
let seq = 0;

interface Row {
  id: number;
  userId: number;
}

/** A delivery in `status` of a user of its own (the opt-out and digest paths act per user). */
async function deliveryIn(
  status: DeliveryStatus,
  channel: ChannelName,
  fields: Partial<typeof deliveries.$inferInsert> = {},
  priority = 'normal',
): Promise<Row> {
  const db = t.database.db;
  const user = await insertUser(db, `sm-${++seq}`);
  const [n] = await db
    .insert(notifications)
    .values({
      notificationId: `n-sm-${seq}`,
      userId: user.id,
      type: 'order_confirmed',
      category: 'transactional',
      priority,
      title: 't',
      message: 'm',
      createdAt: new Date(Date.now() - 2 * HOUR),
    })
    .returning();
  const [d] = await db
    .insert(deliveries)
    .values({ notificationId: n!.id, channel, status, maxAttempts: 4, attempts: 1, ...fields })
    .returning();
  return { id: d!.id, userId: user.id };
}

/** The database's error, which drizzle wraps in a "Failed query" error. */
const causedBy = (re: RegExp) => (err: unknown) => re.test(String((err as Error).cause ?? err));

const statusOf = async (id: number) =>
  (await t.database.db.select().from(deliveries).where(eq(deliveries.id, id)))[0]!.status;

/** Sets a delivery up in `from`, fires the event through its write path, returns the delivery's id. */
type Driver = (event: DeliveryEvent, from: DeliveryStatus) => Promise<number>;

const providerReport: Partial<Record<DeliveryEvent, { status: string; retry: boolean }>> = {
  provider_progress: { status: 'sent', retry: false },
  provider_delivered: { status: 'delivered', retry: false },
  provider_retry: { status: 'undelivered', retry: true },
  provider_failed: { status: 'undelivered', retry: false },
};

const DRIVERS: Record<Exclude<WritePath, 'lc_insert_notifications'>, Driver> = {
  lc_claim_deliveries: async (_event, from) => {
    // push: no other driver leaves due push rows behind.
    const d = await deliveryIn(from, 'push', { nextAttemptAt: new Date(Date.now() - HOUR) });
    await claimDue(t.database.db, [{ channel: 'push', limit: 100 }], 'sm-claimer', 60_000);
    return d.id;
  },
  lc_complete_deliveries: async (event, from) => {
    const d = await deliveryIn(from, 'in_app', { leaseOwner: 'sm-worker' });
    const next = TRANSITIONS[event].to === 'queued' ? new Date(Date.now() + HOUR) : null;
    await completeBatch(t.database.db, 'sm-worker', [
      { id: String(d.id), event: event as never, nextAttemptAt: next, providerMessageId: null },
    ]);
    return d.id;
  },
  lc_apply_provider_statuses: async (event, from) => {
    const report = providerReport[event]!;
    const sid = `SMsm${seq}x${event}`;
    const d = await deliveryIn(from, 'sms', { providerMessageId: sid, providerStatus: 'queued' });
    await applyProviderStatuses(t.database.db, [
      {
        providerMessageId: sid,
        providerStatus: report.status,
        errorCode: report.status === 'undelivered' ? 30003 : null,
        errorMessage: report.status === 'undelivered' ? 'Unreachable' : null,
        price: null,
        retryAt: report.retry ? new Date(Date.now() + HOUR) : null,
      },
    ]);
    return d.id;
  },
  reapExpiredLeases: async (event, from) => {
    const d = await deliveryIn(from, 'sms', {
      leaseOwner: 'sm-dead',
      leaseExpiresAt: new Date(Date.now() - HOUR),
      // lease_expired_final: attempts and lookups spent (no lookups are given below).
      attempts: event === 'lease_expired_final' ? 4 : 1,
    });
    await reapExpiredLeases(t.database.db, {});
    return d.id;
  },
  skipQueuedSmsForUser: async (_event, from) => {
    // Through its one caller, the opt-out, so the preference side of it runs too.
    const d = await deliveryIn(from, 'sms');
    await optOutOfSms(t.database.db, d.userId, 'api', 'state machine test');
    return d.id;
  },
  mergeUserDigest: async (event, from) => {
    // Two held digest emails of one user: the newer carries the digest, the older is merged.
    const older = await deliveryIn(from, 'email', {}, 'digest');
    const [n] = await t.database.db
      .insert(notifications)
      .values({
        notificationId: `n-sm-${++seq}`,
        userId: older.userId,
        type: 'order_confirmed',
        category: 'transactional',
        priority: 'digest',
        title: 't',
        message: 'm',
        createdAt: new Date(Date.now() - HOUR),
      })
      .returning();
    const [carrier] = await t.database.db
      .insert(deliveries)
      .values({ notificationId: n!.id, channel: 'email', status: from, maxAttempts: 4 })
      .returning();
    await flushDigests(t.database.db, { windowMs: 60_000 });
    return event === 'digest_release' ? carrier!.id : older.id;
  },
  resendFailedDelivery: async (_event, from) => {
    const d = await deliveryIn(from, 'sms');
    await resendFailedDelivery(t.database.db, d.id, 'state machine test', new Date());
    return d.id;
  },
  supersedeDeliveries: async (_event, from) => {
    // The older of two notifications of one user, type and collapse key: the newer supersedes it.
    const db = t.database.db;
    const older = await deliveryIn(from, 'in_app');
    const [d] = await db.select().from(deliveries).where(eq(deliveries.id, older.id));
    await db.update(notifications).set({ collapseKey: 'K1' }).where(eq(notifications.id, d!.notificationId));
    const newer = `n-sm-${++seq}`;
    await db.insert(notifications).values({
      notificationId: newer,
      userId: older.userId,
      type: 'order_confirmed',
      category: 'transactional',
      priority: 'normal',
      title: 't',
      message: 'm',
      collapseKey: 'K1',
    });
    await supersedeDeliveries(db, [newer]);
    return older.id;
  },
  cancelDeliveries: async (_event, from) => {
    const d = await deliveryIn(from, 'sms');
    const [n] = await t.database.db
      .select({ id: notifications.notificationId })
      .from(notifications)
      .innerJoin(deliveries, eq(deliveries.notificationId, notifications.id))
      .where(eq(deliveries.id, d.id));
    await cancelDeliveries(t.database.db, { notificationId: n!.id }, 'cancelled by id');
    return d.id;
  },
  // fallback_linked: the failed delivery stays failed. (Its creation events: their own test below.)
  createFallbackDeliveries: async (_event, from) => (await fallbackFrom(from, 'fallback_queued')).id,
};

/** A delivery in `from` that failed with 21211, and the fallback `event` asked for it; the new delivery's status. */
async function fallbackFrom(from: DeliveryStatus, event: FallbackEvent) {
  const d = await deliveryIn(from, 'sms', { errorCode: '21211' });
  const [made] = await createFallbackDeliveries(t.database.db, [
    {
      failedId: d.id,
      channel: 'email',
      event,
      maxAttempts: 4,
      nextAttemptAt: null,
      skipReason: null,
      errorMessage: null,
    },
  ]);
  return { id: d.id, created: made?.status };
}

describe(`every status-writing SQL path follows the state machine (${ENGINE})`, () => {
  before(async () => {
    t = await createTestDatabase();
  });
  after(async () => {
    await t.close();
  });

  test('every write path of the table has a driver here', () => {
    const missing = Object.values(TRANSITIONS)
      .map((tr) => tr.by)
      .filter((by) => by !== 'lc_insert_notifications' && !Object.hasOwn(DRIVERS, by));
    assert.deepEqual(missing, []);
  });

  for (const [event, transition] of Object.entries(TRANSITIONS) as [
    DeliveryEvent,
    (typeof TRANSITIONS)[DeliveryEvent],
  ][]) {
    // Creation events (from the new row): tested below, by what they create.
    if (transition.by === 'lc_insert_notifications' || (transition.from as readonly unknown[]).includes(null))
      continue;
    test(`${event} (${transition.by}) moves ${transition.from.join('|')} → ${transition.to} and nothing else`, async () => {
      for (const from of DELIVERY_STATUSES) {
        const id = await DRIVERS[transition.by](event, from);
        const expected: DeliveryStatus = canTransition(from, event) ? transition.to : from;
        assert.equal(await statusOf(id), expected, `${event} from ${from}`);
      }
    });
  }

  test('lc_insert_notifications creates only through a creation event', async () => {
    const user = await insertUser(t.database.db, `sm-${++seq}`);
    const create = (event: string) =>
      queryRows<{ r: { created: Array<{ deliveries: Array<{ status: string }> }> } }>(
        t.database.db,
        sql`select lc_insert_notifications(${JSON.stringify([
          {
            ord: 0,
            notification_id: `n-sm-${++seq}`,
            user_id: user.id,
            type: 'order_confirmed',
            category: 'transactional',
            priority: 'normal',
            title: 't',
            message: 'm',
            context: {},
            deliveries: [{ ord: 0, channel: 'in_app', event, max_attempts: 3, next_attempt_at: null }],
          },
        ])}::jsonb, 'lc_unused', '', ${TRANSITIONS_JSON}::jsonb, true) as r`,
      );
    for (const event of ['create_queued', 'create_skipped'] as const) {
      const [row] = await create(event);
      assert.equal(row!.r.created[0]!.deliveries[0]!.status, TRANSITIONS[event].to);
    }
    for (const event of ['claim', 'send_ok', 'opt_out_skip', 'no_such_event']) {
      await assert.rejects(create(event), causedBy(/names no creation event/), event);
    }
  });

  test('createFallbackDeliveries creates through its creation events, and only for a failed delivery', async () => {
    for (const event of ['fallback_queued', 'fallback_skipped'] as const) {
      for (const from of DELIVERY_STATUSES) {
        const { created } = await fallbackFrom(from, event);
        const expected = canTransition(from, 'fallback_linked') ? TRANSITIONS[event].to : undefined;
        assert.equal(created, expected, `${event} for a delivery ${from}`);
      }
    }
  });

  test('lc_complete_deliveries refuses an outcome that names no event', async () => {
    const d = await deliveryIn('sending', 'in_app', { leaseOwner: 'sm-worker' });
    await assert.rejects(
      completeBatch(t.database.db, 'sm-worker', [{ id: String(d.id), event: 'delivered' as never }]),
      causedBy(/names no event/),
    );
    assert.equal(await statusOf(d.id), 'sending');
  });
});
