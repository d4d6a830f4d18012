import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { describeDeliveryError } from '../../src/channels/delivery-error-info.ts';
import { deliveryStats } from '../../src/stats/delivery-stats.ts';
import { resolveWindow, StatsWindowError } from '../../src/stats/stats-window.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-db.ts';
import { seed } from './fixture.ts';

// 06:00 in Kolkata (+05:30) on 2 Dec, 00:30 in UTC: "today" starts at 18:30Z on 1 Dec in Kolkata and
// at 00:00Z on 2 Dec in UTC, so the rows between the two midnights tell the zones apart.
const NOW = new Date('2026-12-02T00:30:00Z');
const IST = 'Asia/Kolkata';

describe('delivery stats on a seeded database', () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
    await seed(t.database.db, [
      // 23:30 on 1 Dec in Kolkata: yesterday there, and before UTC's today too.
      {
        type: 'order_confirmed',
        createdAt: '2026-12-01T18:00:00Z',
        deliveries: [{ channel: 'sms', status: 'delivered', segments: 1, cost: 0.0832, price: '-0.08320' }],
      },
      {
        type: 'order_confirmed',
        createdAt: '2026-12-01T19:00:00Z',
        deliveries: [
          { channel: 'sms', status: 'delivered', segments: 2, cost: 0.1664, price: '-0.16640' },
          { channel: 'in_app', status: 'delivered' },
          { channel: 'email', status: 'skipped', skipReason: 'disabled_by_user' },
        ],
      },
      {
        type: 'order_confirmed',
        createdAt: '2026-12-01T19:30:00Z',
        deliveries: [
          { channel: 'sms', status: 'sent', segments: 1, cost: 0.0832 },
          { channel: 'in_app', status: 'delivered' },
        ],
      },
      {
        type: 'order_picked_up',
        createdAt: '2026-12-01T21:00:00Z',
        deliveries: [
          { channel: 'sms', status: 'failed', errorCode: '30003', segments: 1, cost: 0.0832 },
          { channel: 'email', status: 'failed', errorCode: 'EMAIL_BOUNCED' },
          { channel: 'in_app', status: 'delivered' },
        ],
      },
      {
        type: 'order_picked_up',
        createdAt: '2026-12-01T22:00:00Z',
        deliveries: [
          { channel: 'sms', status: 'failed', errorCode: 'NOT_SENT' },
          { channel: 'push', status: 'skipped', skipReason: 'no_subscription' },
        ],
      },
      {
        type: 'payment_completed',
        createdAt: '2026-12-01T23:00:00Z',
        deliveries: [
          { channel: 'sms', status: 'skipped', skipReason: 'sms_daily_cap' },
          { channel: 'email', status: 'queued', nextAttemptAt: '2026-12-02T00:29:00Z' },
          { channel: 'in_app', status: 'delivered' },
        ],
      },
      {
        type: 'payment_completed',
        createdAt: '2026-12-01T23:30:00Z',
        deliveries: [
          { channel: 'sms', status: 'queued', nextAttemptAt: '2026-12-02T01:30:00Z' },
          { channel: 'email', status: 'failed', errorCode: 'TEMPLATE_MISSING_VAR' },
        ],
      },
      // After midnight UTC: today in both zones.
      {
        type: 'welcome',
        createdAt: '2026-12-02T00:10:00Z',
        deliveries: [{ channel: 'in_app', status: 'delivered' }],
      },
    ]);
  });
  after(() => t.close());

  const stats = (window: 'today' | '7d', timeZone: string, granularity?: 'hour' | 'day') =>
    deliveryStats(t.database.db, resolveWindow({ window, timeZone, granularity, now: NOW }), NOW);

  test('per channel counts, skipped reasons and delivery rates for today in Kolkata', async () => {
    const s = await stats('today', IST);
    assert.deepEqual(s.window, {
      from: '2026-12-01T18:30:00.000Z',
      to: '2026-12-02T18:30:00.000Z',
      granularity: 'hour',
      time_zone: IST,
    });
    assert.deepEqual(s.channels.sms, {
      total: 6,
      handed_to_provider: 3,
      sent: 1,
      delivered: 1,
      failed: 2,
      pending: 1,
      skipped: 1,
      skipped_by_reason: { sms_daily_cap: 1 },
      // delivered ÷ (delivered + failed + sent-unconfirmed) = 1 / 4
      delivery_rate: 0.25,
      rate_basis: 'confirmed',
    });
    assert.equal(s.channels.in_app.delivered, 5);
    assert.equal(s.channels.in_app.delivery_rate, 1);
    assert.deepEqual(
      { ...s.channels.email, skipped_by_reason: s.channels.email.skipped_by_reason },
      {
        total: 4,
        handed_to_provider: 0,
        sent: 0,
        delivered: 0,
        failed: 2,
        pending: 1,
        skipped: 1,
        skipped_by_reason: { disabled_by_user: 1 },
        delivery_rate: 0,
        rate_basis: 'accepted',
      },
    );
    assert.equal(s.channels.push.delivery_rate, null, 'nothing attempted: no rate');
    assert.deepEqual(s.channels.push.skipped_by_reason, { no_subscription: 1 });
  });

  test('"today" follows the zone: UTC today holds only what came after UTC midnight', async () => {
    const s = await stats('today', 'UTC');
    assert.equal(s.window.from, '2026-12-02T00:00:00.000Z');
    assert.equal(s.channels.in_app.total, 1);
    assert.equal(s.channels.sms.total, 0);
    assert.deepEqual(s.types, [
      { type: 'welcome', notifications: 1, delivered: 1, failed: 0, skipped: 0, pending: 0 },
    ]);
  });

  test('SMS segments and cost: the estimate at send and the reported price where known', async () => {
    const s = await stats('today', IST);
    assert.deepEqual(s.sms_cost, {
      segments: 4,
      estimated: 0.3328,
      reported: 0.1664,
      priced: 1,
      currency: 'USD',
    });
    assert.equal(s.buckets.length, 24);
    const first = s.buckets[0]!;
    assert.equal(first.label, '2026-12-02T00:00');
    assert.equal(first.start, '2026-12-01T18:30:00Z');
    assert.equal(first.volume.sms, 1);
    assert.deepEqual(first.sms, {
      segments: 2,
      estimated: 0.1664,
      reported: 0.1664,
      priced: 1,
      currency: 'USD',
      handed_to_provider: 1,
      delivered: 1,
      failed: 0,
    });
    assert.equal(s.buckets[1]!.sms.reported, null, 'no price reported yet');
    assert.equal(s.buckets[1]!.sms.estimated, 0.0832);
    assert.equal(s.buckets.at(-1)!.volume.in_app, 0, 'empty buckets are there, with zeros');
  });

  test('day buckets over 7 days put 23:30 Kolkata time on its own local day', async () => {
    const s = await stats('7d', IST);
    assert.equal(s.window.granularity, 'day');
    assert.deepEqual(
      s.buckets.map((b) => b.label),
      ['2026-11-26', '2026-11-27', '2026-11-28', '2026-11-29', '2026-11-30', '2026-12-01', '2026-12-02'],
    );
    assert.equal(s.buckets[5]!.volume.sms, 1);
    assert.equal(s.buckets[5]!.sms.reported, 0.0832);
    assert.equal(s.buckets[6]!.volume.sms, 6);
    assert.equal(s.sms_cost.segments, 5);
  });

  test('failures by error code, with meaning, fix and docs from the delivery-error catalogue', async () => {
    const s = await stats('today', IST);
    assert.deepEqual(
      s.failures.map((f) => [f.channel, f.code, f.count]),
      [
        ['email', 'EMAIL_BOUNCED', 1],
        ['email', 'TEMPLATE_MISSING_VAR', 1],
        ['sms', '30003', 1],
        ['sms', 'NOT_SENT', 1],
      ],
    );
    for (const f of s.failures) {
      const info = describeDeliveryError(f.channel, f.code!);
      assert.deepEqual([f.meaning, f.fix, f.docs], [info.meaning, info.fix, info.docs], String(f.code));
    }
    assert.match(s.failures[2]!.meaning!, /Unreachable handset/);
    assert.equal(s.failures[3]!.docs, 'docs/errors.md#delivery-error-not-sent');
  });

  test('per notification type', async () => {
    const s = await stats('today', IST);
    assert.deepEqual(s.types, [
      { type: 'order_confirmed', notifications: 2, delivered: 3, failed: 0, skipped: 1, pending: 0 },
      { type: 'order_picked_up', notifications: 2, delivered: 1, failed: 3, skipped: 1, pending: 0 },
      { type: 'payment_completed', notifications: 2, delivered: 1, failed: 1, skipped: 1, pending: 2 },
      { type: 'welcome', notifications: 1, delivered: 1, failed: 0, skipped: 0, pending: 0 },
    ]);
  });

  test('queue depth now: due, scheduled later, and the age of the oldest due delivery', async () => {
    const s = await stats('today', IST);
    const byChannel = Object.fromEntries(s.queue.map((q) => [q.channel, q]));
    assert.deepEqual(byChannel['email'], {
      channel: 'email',
      due: 1,
      scheduled: 0,
      sending: 0,
      oldest_due_age_ms: 60_000,
    });
    assert.deepEqual(byChannel['sms'], {
      channel: 'sms',
      due: 0,
      scheduled: 1,
      sending: 0,
      oldest_due_age_ms: null,
    });
  });
});

describe('stats windows', () => {
  test('today in a zone with DST ends at the next local midnight (a 25-hour day)', () => {
    const w = resolveWindow({
      window: 'today',
      timeZone: 'America/New_York',
      now: new Date('2026-11-01T12:00:00Z'),
    });
    assert.equal(w.from.toISOString(), '2026-11-01T04:00:00.000Z');
    assert.equal(w.to.toISOString(), '2026-11-02T05:00:00.000Z');
  });

  test('bad windows are refused with a reason', () => {
    const now = NOW;
    const cases: Array<[Parameters<typeof resolveWindow>[0], RegExp]> = [
      [{ timeZone: 'Mars/Olympus', now }, /not an IANA time zone/],
      [{ timeZone: 'UTC', now, from: new Date('2026-12-02'), to: new Date('2026-12-01') }, /before/],
      [{ timeZone: 'UTC', now, from: new Date('2026-12-02') }, /both/],
      [
        { timeZone: 'UTC', now, window: 'today', from: new Date('2026-12-01'), to: new Date('2026-12-02') },
        /either/,
      ],
      [
        { timeZone: 'UTC', now, from: new Date('2024-01-01'), to: new Date('2026-01-01') },
        /at most 400 days/,
      ],
      [
        {
          timeZone: 'UTC',
          now,
          from: new Date('2026-01-01'),
          to: new Date('2026-03-01'),
          granularity: 'hour',
        },
        /Hourly/,
      ],
    ];
    for (const [req, message] of cases) {
      assert.throws(
        () => resolveWindow(req),
        (err: Error) => err instanceof StatsWindowError && message.test(err.message),
      );
    }
  });
});
