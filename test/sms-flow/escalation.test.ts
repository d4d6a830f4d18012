import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { and, asc, eq } from 'drizzle-orm';
import type { RunningApp } from '../../src/app.ts';
import type { Channel, DeliveryJob, SendResult } from '../../src/channels/channel.ts';
import { TestClock } from '../../src/clock.ts';
import type { Db } from '../../src/db/database.ts';
import {
  deliveries,
  deliveryStatusHistory,
  notificationPreferences,
  notifications,
} from '../../src/db/schema.ts';
import { claimDue } from '../../src/deliveries/claim.ts';
import { completeBatch } from '../../src/deliveries/complete.ts';
import { attemptEscalated, inAppReadAt } from '../../src/deliveries/escalation-check.ts';
import { toCompletion } from '../../src/deliveries/outcome.ts';
import { reapExpiredLeases } from '../../src/deliveries/reap.ts';
import { retryPolicies } from '../../src/deliveries/retry-policy.ts';
import { findInboxUser, markRead } from '../../src/inbox/inbox-store.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { notify, smsDelivery, smsUser, startSmsApp, waitForSmsStatus } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, silentLogger, type TestDatabase } from '../helpers/test-db.ts';

/** order_ready's escalation (catalog.ts): the SMS only if the in-app message is unread after 10 min. */
const WAIT_MS = 10 * 60_000;

const history = async (db: Db, deliveryId: number) =>
  db
    .select()
    .from(deliveryStatusHistory)
    .where(eq(deliveryStatusHistory.deliveryId, deliveryId))
    .orderBy(asc(deliveryStatusHistory.id));

const read = async (db: Db, userId: string, notificationId: string) =>
  markRead(db, await findInboxUser(db, userId), notificationId);

const readAt = async (db: Db, notificationId: string) =>
  (await inAppReadAt(db, notificationId))!.toISOString();

/** The in-app message went out (the worker delivered it): what the escalation waits on is there. */
const inAppDelivered = (db: Db, notificationId: string) =>
  waitFor(
    async () => {
      const [row] = await db
        .select({ status: deliveries.status })
        .from(deliveries)
        .innerJoin(notifications, eq(notifications.id, deliveries.notificationId))
        .where(and(eq(notifications.notificationId, notificationId), eq(deliveries.channel, 'in_app')));
      return row?.status === 'delivered';
    },
    10_000,
    'in-app delivered',
  );

const settled = (db: Db, notificationId: string) =>
  waitFor(
    async () => {
      const d = await smsDelivery(db, notificationId);
      return ['sent', 'delivered', 'skipped'].includes(d.status) ? d : undefined;
    },
    15_000,
    'SMS settled',
  );

const sentTo = (app: RunningApp, phone: string) =>
  app.sms.sandbox!.messages().filter((m) => m.direction === 'outbound-api' && m.to === phone);

describe(`escalation: the SMS only if the in-app message is unread (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  const clock = new TestClock();
  before(async () => {
    t = await createTestDatabase();
    app = await startSmsApp(t, {}, undefined, clock);
  });
  after(async () => {
    await app.close();
    await t.close();
  });
  const db = () => t.database.db;

  test('at creation the SMS waits 10 min, saying so; in-app goes at once', async () => {
    await smsUser(db(), 'esc-created', '+919876500300');
    const at = clock.now();
    const id = await notify(app, 'esc-created', 'order_ready', clock);
    const sms = await smsDelivery(db(), id);
    const until = new Date(at + WAIT_MS).toISOString();
    assert.equal(sms.status, 'queued');
    assert.equal(sms.nextAttemptAt?.toISOString(), until);
    assert.deepEqual(sms.details, { escalation: { waits_for: 'in_app_read', until } });
    const [first] = await history(db(), sms.id);
    assert.equal(first?.detail, `waiting for the in-app message to be read until ${until}`);
    await inAppDelivered(db(), id);
  });

  test('a critical type does not wait, nor does a type without the rule', async () => {
    await smsUser(db(), 'esc-critical', '+919876500301');
    const at = new Date(clock.now()).toISOString();
    for (const type of ['order_confirmed', 'order_picked_up']) {
      const id = await notify(app, 'esc-critical', type, clock);
      const sms = await smsDelivery(db(), id);
      assert.equal(sms.nextAttemptAt?.toISOString(), at, type);
      assert.equal((sms.details as Record<string, unknown> | null)?.['escalation'], undefined, type);
      await settled(db(), id);
    }
  });

  test('with in-app turned off there is nothing to read: the SMS goes at once', async () => {
    const user = await smsUser(db(), 'esc-no-inapp', '+919876500302');
    await db()
      .insert(notificationPreferences)
      .values({ userId: user.id, category: 'order_updates', channel: 'in_app', enabled: false });
    const at = new Date(clock.now()).toISOString();
    const id = await notify(app, 'esc-no-inapp', 'order_ready', clock);
    const sms = await smsDelivery(db(), id);
    assert.equal(sms.nextAttemptAt?.toISOString(), at);
    // No escalation wait; the worker may already have sent it (and added its route to the details).
    assert.equal((sms.details as Record<string, unknown> | null)?.['escalation'], undefined);
    const [first] = await history(db(), sms.id);
    assert.doesNotMatch(first?.detail ?? '', /waiting for the in-app message/);
    await settled(db(), id);
  });

  test('unread at the deadline: the SMS is sent, once, saying the message was unread', async () => {
    const phone = '+919876500303';
    await smsUser(db(), 'esc-unread', phone);
    const id = await notify(app, 'esc-unread', 'order_ready', clock);
    await inAppDelivered(db(), id);
    clock.advance(WAIT_MS);
    const d = await waitForSmsStatus(db(), id, 'delivered');
    assert.equal(sentTo(app, phone).length, 1);
    assert.equal(d.attempts, 1);
    assert.ok(Number(d.costAmount) > 0);
    const checkedAt = new Date(clock.now()).toISOString();
    const escalation = (d.details as { escalation: Record<string, unknown> }).escalation;
    assert.deepEqual(escalation, {
      waits_for: 'in_app_read',
      until: checkedAt,
      checked_at: checkedAt,
      read_at: null,
    });
    const sent = (await history(db(), d.id)).find((h) => h.toStatus === 'sent');
    assert.match(sent?.detail ?? '', new RegExp(`^the in-app message was still unread at ${checkedAt}; `));
  });

  test('read before the deadline: skipped read_in_app, nothing at the sandbox, nothing paid', async () => {
    const phone = '+919876500304';
    await smsUser(db(), 'esc-read', phone);
    const id = await notify(app, 'esc-read', 'order_ready', clock);
    await inAppDelivered(db(), id);
    clock.advance(2 * 60_000);
    await read(db(), 'esc-read', id);
    clock.advance(WAIT_MS - 2 * 60_000);
    const d = await waitForSmsStatus(db(), id, 'skipped');
    assert.equal(d.skipReason, 'read_in_app');
    assert.equal(d.costAmount, null);
    assert.equal(d.providerMessageId, null);
    assert.equal(sentTo(app, phone).length, 0);
    const last = (await history(db(), d.id)).at(-1)!;
    assert.equal(last.toStatus, 'skipped');
    assert.equal(last.detail, `read in app at ${await readAt(db(), id)}; sms not sent`);
  });

  test('read 1 ms before the deadline: still skipped', async () => {
    const phone = '+919876500305';
    await smsUser(db(), 'esc-read-late', phone);
    const id = await notify(app, 'esc-read-late', 'order_ready', clock);
    await inAppDelivered(db(), id);
    // Not due yet (the claim takes rows due by the clock's time), so no worker can have taken it.
    clock.advance(WAIT_MS - 1);
    await read(db(), 'esc-read-late', id);
    clock.advance(1);
    const d = await waitForSmsStatus(db(), id, 'skipped');
    assert.equal(d.skipReason, 'read_in_app');
    assert.equal(sentTo(app, phone).length, 0);
  });
});

/**
 * The test plays the worker, step by step, with the service's real SMS channel and sandbox, so the
 * order of the read, the claim, the check and the send is the test's, not the scheduler's.
 */
describe(`escalation: the read racing the send resolves one way (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  const clock = new TestClock();
  before(async () => {
    t = await createTestDatabase();
    app = await startSmsApp(t, {}, undefined, clock);
    await app.worker!.stop(); // no live worker: nothing claims but the test
  });
  after(async () => {
    await app.close();
    await t.close();
  });
  const db = () => t.database.db;
  const deps = () => ({ db: db(), clock, logger: silentLogger });
  const policy = (job: DeliveryJob) => ({ ...retryPolicies(app.config).sms, maxAttempts: job.maxAttempts });

  /** The real SMS channel, counting what it was asked to do; `beforeSend` runs first. */
  function counted(beforeSend: () => Promise<unknown> = async () => {}) {
    const inner = app.sms.channel!;
    const calls = { send: 0, lookup: 0 };
    const channel: Channel = {
      name: 'sms',
      async send(job) {
        await beforeSend();
        calls.send++;
        return inner.send(job);
      },
      async lookup(job) {
        calls.lookup++;
        return inner.lookup(job);
      },
    };
    return { channel, calls };
  }

  async function claimSms(leaseMs = 60_000): Promise<DeliveryJob> {
    const [job, ...more] = await claimDue(
      db(),
      [{ channel: 'sms', limit: 5 }],
      'racer',
      leaseMs,
      clock.sqlNow(),
    );
    assert.ok(job, 'an SMS was due');
    assert.equal(more.length, 0);
    return job;
  }

  async function write(job: DeliveryJob, result: SendResult) {
    const c = toCompletion(job, result, policy(job), new Date(clock.now()));
    assert.equal((await completeBatch(db(), 'racer', [c])).size, 1);
  }

  /** A new order_ready whose SMS is due now. */
  async function due(userId: string, phone: string) {
    await smsUser(db(), userId, phone);
    const id = await notify(app, userId, 'order_ready', clock);
    clock.advance(WAIT_MS);
    return id;
  }

  test('read after the claim, before the check: skipped, the provider never asked', async () => {
    const phone = '+919876500310';
    const id = await due('race-claim-read', phone);
    const job = await claimSms();
    assert.deepEqual(job.escalation?.waits_for, 'in_app_read');
    await read(db(), 'race-claim-read', id);
    const { channel, calls } = counted();
    const result = await attemptEscalated(deps(), channel, job, policy(job), new AbortController().signal);
    assert.equal(result.kind, 'skipped');
    assert.deepEqual(calls, { send: 0, lookup: 0 });
    await write(job, result);
    const d = await smsDelivery(db(), id);
    assert.equal(d.status, 'skipped');
    assert.equal(d.skipReason, 'read_in_app');
    assert.equal(sentTo(app, phone).length, 0);
  });

  test('read after the check, during the send: sent, and the read un-sends nothing', async () => {
    const phone = '+919876500311';
    const id = await due('race-check-read', phone);
    const job = await claimSms();
    // The read commits after the check found the message unread, before the provider is asked.
    const { channel, calls } = counted(() => read(db(), 'race-check-read', id));
    const result = await attemptEscalated(deps(), channel, job, policy(job), new AbortController().signal);
    assert.equal(result.kind, 'sent');
    assert.deepEqual(calls, { send: 1, lookup: 0 });
    await write(job, result);
    assert.ok(await inAppReadAt(db(), id), 'the read was recorded');
    // Later the read changes nothing: nothing of it is due again, and the sandbox has the one SMS.
    await read(db(), 'race-check-read', id);
    clock.advance(WAIT_MS);
    assert.deepEqual(
      await claimDue(db(), [{ channel: 'sms', limit: 5 }], 'racer', 60_000, clock.sqlNow()),
      [],
    );
    const d = await smsDelivery(db(), id);
    assert.match(d.status, /^(sent|delivered)$/);
    assert.equal(sentTo(app, phone).length, 1);
    const steps = await history(db(), d.id);
    assert.ok(!steps.some((h) => h.toStatus === 'skipped'));
    assert.match(
      steps.find((h) => h.toStatus === 'sent')?.detail ?? '',
      /^the in-app message was still unread at /,
    );
  });

  test('a crash between the check and the send, then a read: the provider has none, skipped, never sent', async () => {
    const phone = '+919876500312';
    const id = await due('race-crash-unsent', phone);
    const job = await claimSms(1_000);
    assert.equal(await inAppReadAt(db(), id), null); // the check: unread; then the worker dies
    await read(db(), 'race-crash-unsent', id);
    clock.advance(1_001);
    assert.equal(await reapExpiredLeases(db(), { sms: policy(job).maxLookups }, clock.sqlNow()), 1);
    const again = await claimSms();
    assert.equal(again.outcomeUnknown, true);
    const { channel, calls } = counted();
    const result = await attemptEscalated(
      deps(),
      channel,
      again,
      policy(again),
      new AbortController().signal,
    );
    assert.deepEqual(calls, { send: 0, lookup: 1 });
    await write(again, result);
    const d = await smsDelivery(db(), id);
    assert.equal(d.status, 'skipped');
    assert.equal(d.skipReason, 'read_in_app');
    assert.equal(sentTo(app, phone).length, 0);
    assert.match(
      (await history(db(), d.id)).at(-1)?.detail ?? '',
      /; sms not sent \(the provider has no message from the earlier attempt\)$/,
    );
  });

  test('a crash after the send, then a read: the SMS that went out is adopted, not skipped, not sent again', async () => {
    const phone = '+919876500313';
    const id = await due('race-crash-sent', phone);
    const job = await claimSms(1_000);
    const first = counted();
    const sent = await attemptEscalated(
      deps(),
      first.channel,
      job,
      policy(job),
      new AbortController().signal,
    );
    assert.equal(sent.kind, 'sent'); // reached the sandbox; the worker dies before writing it
    await read(db(), 'race-crash-sent', id);
    clock.advance(1_001);
    assert.equal(await reapExpiredLeases(db(), { sms: policy(job).maxLookups }, clock.sqlNow()), 1);
    const again = await claimSms();
    const { channel, calls } = counted();
    const result = await attemptEscalated(
      deps(),
      channel,
      again,
      policy(again),
      new AbortController().signal,
    );
    assert.deepEqual(calls, { send: 0, lookup: 1 });
    await write(again, result);
    const d = await smsDelivery(db(), id);
    assert.match(d.status, /^(sent|delivered)$/);
    const messages = sentTo(app, phone);
    assert.equal(messages.length, 1);
    assert.equal(d.providerMessageId, messages[0]!.sid);
  });
});

describe(`escalation: a restart while the SMS waits (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp | undefined;
  const clock = new TestClock();
  before(async () => {
    t = await createTestDatabase();
  });
  after(async () => {
    await app?.close();
    await t.close();
  });
  const db = () => t.database.db;

  test('the waiting SMS outlives the stop: sent exactly once if unread, skipped if read meanwhile', async () => {
    app = await startSmsApp(t, {}, undefined, clock);
    await smsUser(db(), 'restart-unread', '+919876500320');
    await smsUser(db(), 'restart-read', '+919876500321');
    const unread = await notify(app, 'restart-unread', 'order_ready', clock);
    const readOne = await notify(app, 'restart-read', 'order_ready', clock);
    await inAppDelivered(db(), unread);
    await inAppDelivered(db(), readOne);
    const before = app.sms.sandbox!.messages().length;
    await app.close();
    app = undefined;
    await read(db(), 'restart-read', readOne); // while the service is down

    app = await startSmsApp(t, {}, undefined, clock);
    clock.advance(WAIT_MS);
    const sent = await waitForSmsStatus(db(), unread, 'delivered');
    const skipped = await waitForSmsStatus(db(), readOne, 'skipped');
    assert.equal(before, 0, 'nothing was sent before the stop');
    assert.equal(sentTo(app, '+919876500320').length, 1);
    assert.equal(sentTo(app, '+919876500321').length, 0);
    assert.equal(sent.attempts, 1);
    assert.equal(skipped.skipReason, 'read_in_app');
    assert.equal((await history(db(), sent.id)).filter((h) => h.toStatus === 'sending').length, 1);
  });
});
