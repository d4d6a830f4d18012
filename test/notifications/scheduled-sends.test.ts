import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { asc, eq } from 'drizzle-orm';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { deliveries, deliveryStatusHistory, notifications, users } from '../../src/db/schema.ts';
import { flushDigests } from '../../src/digest/digest-flusher.ts';
import { AppError } from '../../src/errors.ts';
import {
  type CreateNotificationInput,
  createNotification,
} from '../../src/notifications/create-notification.ts';
import { deliveryPolicyConfig } from '../../src/preferences/delivery-policy.ts';
import { notificationDeps, testConfig } from '../helpers/fixtures.ts';
import { smsUser } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

const HOUR = 3_600_000;

/** send_at and per-type delays as a notification is created (the decision; the worker side is in test/sms-flow). */
describe(`scheduled and delayed sends at creation (${ENGINE})`, () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(() => t.close());
  const db = () => t.database.db;

  async function create(
    at: string,
    input: Omit<CreateNotificationInput, 'context'> & { context?: Record<string, unknown> },
    quietHours = 'off',
  ) {
    const deps = {
      ...notificationDeps(db(), ['in_app', 'sms', 'email', 'push']),
      policy: deliveryPolicyConfig(testConfig({ QUIET_HOURS_DEFAULT: quietHours })),
      now: () => new Date(at),
    };
    const { notificationId } = await createNotification(deps, {
      context: getNotificationType(input.type)!.sampleContext,
      ...input,
    });
    const [n] = await db()
      .select()
      .from(notifications)
      .where(eq(notifications.notificationId, notificationId));
    const ds = await db()
      .select()
      .from(deliveries)
      .where(eq(deliveries.notificationId, n!.id))
      .orderBy(asc(deliveries.id));
    const next = Object.fromEntries(
      ds.map((d) => [d.channel, d.status === 'queued' ? (d.nextAttemptAt?.toISOString() ?? null) : d.status]),
    );
    // The SMS's first line (review_request has no SMS: its in-app one).
    const sms = ds.find((d) => d.channel === 'sms') ?? ds.find((d) => d.channel === 'in_app')!;
    const [first] = await db()
      .select()
      .from(deliveryStatusHistory)
      .where(eq(deliveryStatusHistory.deliveryId, sms.id))
      .orderBy(asc(deliveryStatusHistory.id));
    return { n: n!, next, firstLine: first!.detail };
  }

  async function zoned(id: string, zone: string) {
    const user = await smsUser(db(), id);
    await db().update(users).set({ timeZone: zone }).where(eq(users.id, user.id));
  }

  test('an instant with an offset: every queued delivery is due then, the notification keeps it, the history says so', async () => {
    await smsUser(db(), 'sch-utc');
    const { n, next, firstLine } = await create('2027-01-17T10:00:00.000Z', {
      userId: 'sch-utc',
      type: 'pickup_reminder',
      sendAt: '2027-01-18T08:00:00+05:30',
    });
    assert.equal(n.sendAt?.toISOString(), '2027-01-18T02:30:00.000Z');
    assert.equal(next['sms'], '2027-01-18T02:30:00.000Z');
    assert.equal(next['in_app'], '2027-01-18T02:30:00.000Z');
    assert.equal(next['email'], '2027-01-18T02:30:00.000Z');
    assert.equal(firstLine, 'scheduled for 2027-01-18T02:30:00.000Z');
    // pickup_reminder's rule: the order number is its cancel key.
    assert.equal(n.cancelKey, 'LC240117');
  });

  test("a local wall time is the recipient's: 08:00 in New York on the day DST starts is 12:00Z, the day before 13:00Z", async () => {
    await zoned('sch-ny', 'America/New_York');
    const spring = await create('2027-03-12T12:00:00.000Z', {
      userId: 'sch-ny',
      type: 'pickup_reminder',
      sendAt: { local: '2027-03-14T08:00' },
    });
    assert.equal(spring.n.sendAt?.toISOString(), '2027-03-14T12:00:00.000Z');
    const before = await create('2027-03-12T12:00:00.000Z', {
      userId: 'sch-ny',
      type: 'pickup_reminder',
      sendAt: { local: '2027-03-13T08:00' },
    });
    assert.equal(before.n.sendAt?.toISOString(), '2027-03-13T13:00:00.000Z');
    // 02:30 does not happen that night: it is taken as 03:30 EDT.
    const gap = await create('2027-03-12T12:00:00.000Z', {
      userId: 'sch-ny',
      type: 'pickup_reminder',
      sendAt: { local: '2027-03-14T02:30' },
    });
    assert.equal(gap.n.sendAt?.toISOString(), '2027-03-14T07:30:00.000Z');
  });

  test('Europe/London across the autumn change: 08:00 is 07:00Z in BST and 08:00Z in GMT', async () => {
    await zoned('sch-london', 'Europe/London');
    const bst = await create('2026-10-23T12:00:00.000Z', {
      userId: 'sch-london',
      type: 'pickup_reminder',
      sendAt: { local: '2026-10-24T08:00' },
    });
    assert.equal(bst.n.sendAt?.toISOString(), '2026-10-24T07:00:00.000Z');
    const gmt = await create('2026-10-23T12:00:00.000Z', {
      userId: 'sch-london',
      type: 'pickup_reminder',
      sendAt: { local: '2026-10-26T08:00' },
    });
    assert.equal(gmt.n.sendAt?.toISOString(), '2026-10-26T08:00:00.000Z');
  });

  test('a send time inside quiet hours: a regular SMS waits for their end, in-app goes at the send time', async () => {
    await smsUser(db(), 'sch-quiet'); // Asia/Kolkata
    const { next, firstLine } = await create(
      '2027-01-10T06:30:00.000Z',
      { userId: 'sch-quiet', type: 'pickup_reminder', sendAt: { local: '2027-01-10T23:00' } },
      '21:00-08:00',
    );
    assert.equal(next['in_app'], '2027-01-10T17:30:00.000Z');
    assert.equal(next['sms'], '2027-01-11T02:30:00.000Z');
    assert.equal(
      firstLine,
      'scheduled for 2027-01-10T17:30:00.000Z, due 2027-01-11T02:30:00.000Z after quiet hours',
    );
  });

  test('a past send time is refused naming send_at; one within a minute of now is now; past 30 days is refused', async () => {
    await smsUser(db(), 'sch-past');
    const at = '2027-01-17T10:00:00.000Z';
    const refusal = (sendAt: CreateNotificationInput['sendAt']) =>
      create(at, { userId: 'sch-past', type: 'pickup_reminder', sendAt }).then(
        () => assert.fail('created'),
        (err: unknown) => {
          assert.ok(err instanceof AppError);
          assert.equal(err.code, 'VALIDATION_FAILED');
          return err.message;
        },
      );
    assert.match(await refusal('2027-01-17T09:00:00Z'), /^send_at: 2027-01-17T09:00:00.000Z is in the past/);
    assert.match(await refusal({ local: '2027-01-17T15:00' }), /in the past/); // 09:30Z in Kolkata
    assert.match(await refusal('2027-02-17T10:00:00Z'), /more than 30 days ahead/);
    assert.match(await refusal({ local: '2027-02-30T08:00' }), /not a real date/);
    const skew = await create(at, {
      userId: 'sch-past',
      type: 'pickup_reminder',
      sendAt: '2027-01-17T09:59:30Z',
    });
    assert.equal(skew.n.sendAt?.toISOString(), at);
  });

  test('review_request waits its 120-minute delay, and joins a digest only from then; an explicit send_at wins', async () => {
    await smsUser(db(), 'sch-review');
    const at = '2027-01-17T10:00:00.000Z';
    const delayed = await create(at, { userId: 'sch-review', type: 'review_request' });
    assert.equal(delayed.n.sendAt?.toISOString(), '2027-01-17T12:00:00.000Z');
    assert.equal(delayed.next['in_app'], '2027-01-17T12:00:00.000Z');
    assert.equal(delayed.next['email'], null, 'held for the digest');
    const explicit = await create(at, {
      userId: 'sch-review',
      type: 'review_request',
      sendAt: '2027-01-17T10:30:00Z',
    });
    assert.equal(explicit.n.sendAt?.toISOString(), '2027-01-17T10:30:00.000Z');
    assert.equal(explicit.next['in_app'], '2027-01-17T10:30:00.000Z');

    const email = async (notificationId: number) =>
      (await db().select().from(deliveries).where(eq(deliveries.notificationId, notificationId))).find(
        (d) => d.channel === 'email',
      )!;
    // An hour and a quarter after its 10:30: the explicit one is digested, the 12:00 one is not yet.
    assert.equal(await flushDigests(db(), { windowMs: HOUR, now: new Date('2027-01-17T11:45:00Z') }), 1);
    assert.notEqual((await email(explicit.n.id)).nextAttemptAt, null);
    assert.equal((await email(delayed.n.id)).nextAttemptAt, null);
    assert.equal(await flushDigests(db(), { windowMs: HOUR, now: new Date('2027-01-17T12:30:00Z') }), 0);
    assert.equal(await flushDigests(db(), { windowMs: HOUR, now: new Date('2027-01-17T13:00:01Z') }), 1);
    assert.notEqual((await email(delayed.n.id)).nextAttemptAt, null);
  });

  test('without send_at or a delay nothing changes: due now, no send_at; a request cancel_key wins over the type’s', async () => {
    await smsUser(db(), 'sch-now');
    const at = '2027-01-17T10:00:00.000Z';
    const plain = await create(at, { userId: 'sch-now', type: 'order_picked_up', cancelKey: 'route-7' });
    assert.equal(plain.n.sendAt, null);
    assert.equal(plain.next['sms'], at);
    assert.equal(plain.firstLine, null);
    assert.equal(plain.n.cancelKey, 'route-7');
  });
});
