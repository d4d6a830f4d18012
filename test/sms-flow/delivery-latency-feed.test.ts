import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { DEFAULT_ROUTING } from '../../src/channels/sms/routing/routing-config.ts';
import { SmsRouter } from '../../src/channels/sms/routing/sms-router.ts';
import { TestClock } from '../../src/clock.ts';
import { latestHistoryId } from '../../src/deliveries/delivered-latencies.ts';
import { feedDeliveryLatencies } from '../../src/tracking/delivery-latency-feed.ts';
import { insertUser } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

/**
 * Delivered SMS reach the routing's health from the database (receipts land on whichever API node
 * the provider called; the router that chooses is each worker's): slow ones shift weight away.
 */
describe(`delivery latencies into the routing's health (${ENGINE})`, () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(async () => {
    await t.close();
  });

  /** `count` SMS through `provider`, sent `minutes` before they were reported delivered. */
  async function delivered(provider: string, count: number, minutes: number, tag: string) {
    const user = await insertUser(t.database.db, `latency-${tag}`, { phone: '+919876500700' });
    await t.database.db.execute(sql`
      with n as (
        insert into notifications (notification_id, user_id, type, category, priority, title, message)
        select 'ntf_lat_' || ${tag} || '_' || g, ${user.id}, 'order_confirmed', 'order_updates', 'critical', 't', 'm'
        from generate_series(1, ${count}) g returning id
      ), d as (
        insert into deliveries (notification_id, channel, status, attempts, max_attempts, sent_at, delivered_at, metadata)
        select id, 'sms', 'delivered', 1, 4, now() - ${minutes} * interval '1 minute', now(),
               jsonb_build_object('sms', jsonb_build_object('provider', ${provider}::text))
        from n returning id
      )
      insert into delivery_status_history (delivery_id, from_status, to_status, provider_status)
      select id, 'sent', 'delivered', 'delivered' from d`);
  }

  test('slow deliveries at one provider shift weight away from it; fast ones at the other do not', async () => {
    const db = t.database.db;
    const start = await latestHistoryId(db);
    const clock = new TestClock(Date.now());
    const router = new SmsRouter({ config: DEFAULT_ROUTING, providers: ['twilio', 'vonage'], clock });
    await delivered('vonage', 12, 6, 'slow');
    await delivered('twilio', 12, 1, 'fast');
    const next = await feedDeliveryLatencies(db, router, ['twilio', 'vonage'], start);
    const snap = router.snapshot();
    const vonage = snap.providers.find((p) => p.name === 'vonage')!;
    const twilio = snap.providers.find((p) => p.name === 'twilio')!;
    assert.deepEqual([vonage.window.delivered, vonage.window.slow], [12, 12]);
    assert.deepEqual([twilio.window.delivered, twilio.window.slow], [12, 0]);
    assert.equal(vonage.healthy, false);
    assert.ok(vonage.shift < 0, `vonage's weight moved away (shift ${vonage.shift})`);
    assert.ok(
      snap.history.some((h) => h.provider === 'vonage' && h.change === 'weight'),
      'the change is recorded with its reason',
    );

    // Read on from the bookmark: nothing counted twice, a provider the service lacks is skipped.
    await delivered('sinch', 3, 9, 'other');
    assert.notEqual(await feedDeliveryLatencies(db, router, ['twilio', 'vonage'], next), next);
    assert.equal(router.snapshot().providers.find((p) => p.name === 'vonage')!.window.delivered, 12);
  });
});
