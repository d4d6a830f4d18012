import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { type RunningApp, startApp } from '../../src/app.ts';
import { runCampaignPass } from '../../src/campaigns/campaign-runner.ts';
import { queryRows } from '../../src/db/database.ts';
import { claimDue } from '../../src/deliveries/claim.ts';
import { testConfig, waitFor } from '../helpers/fixtures.ts';
import { ADMIN_KEY, notify, smsUser, startSmsApp } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';
import { api, expectStatus, seedUsers } from './helpers.ts';

const spec = (id: string, city: string) => ({
  id,
  name: id,
  audience: { filter: { attributes: { city } } },
  content: { sms: { en: { body: 'LaundryConnect: 15% off this week.' } } },
  schedule: 'now',
});

/** Every campaign SMS falls due at once and the window is open all day: only the lanes decide. */
const OPEN = {
  CAMPAIGN_SEND_RATE: '100000',
  CAMPAIGN_SMS_WINDOW: '00:00-23:59',
  // The machine is shared: its event-loop delay must not refuse the test's requests.
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
};

describe(`transactional traffic before a campaign's backlog (${ENGINE})`, () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(async () => t.close());

  test('the claim takes a due order SMS before older due campaign SMS', async () => {
    // No worker: the test claims itself.
    const app = await startApp({
      config: testConfig({ PORT: '0', ADMIN_API_KEY: ADMIN_KEY, ...OPEN }),
      api: true,
      worker: false,
      database: t.database,
    });
    try {
      await seedUsers(t.database.db, 'lane-', 500, { city: 'lane' });
      expectStatus(await api(app)('POST', '/api/v1/campaigns', spec('lanes', 'lane')), 201);
      await runCampaignPass(app.campaigns);
      await smsUser(t.database.db, 'lane-order', '+919911112222');
      const order = await notify(app, 'lane-order');
      const later = new Date(Date.now() + 1_000);
      const first = await claimDue(t.database.db, [{ channel: 'sms', limit: 10 }], 'test', 30_000, later);
      assert.equal(first.length, 10);
      const ofCampaign = first.filter(
        (j) => (j.context['campaign'] as { id: string } | undefined)?.id === 'lanes',
      );
      assert.ok(
        first.some((j) => j.notificationId === order),
        'the order SMS, due last, is in the first claim',
      );
      assert.equal(ofCampaign.length, 9);
      // The campaign rows fill the room the regular ones leave, oldest due first.
      const rest = await claimDue(t.database.db, [{ channel: 'sms', limit: 1000 }], 'test', 30_000, later);
      assert.equal(rest.length, 500 - 9);
    } finally {
      await app.close();
    }
  });

  test('an order SMS created during a campaign is sent before the rest of its backlog', async () => {
    const app: RunningApp = await startSmsApp(t, {
      ...OPEN,
      WORKER_CONCURRENCY_SMS: '2',
      WORKER_BATCH_SIZE: '10',
    });
    try {
      await seedUsers(t.database.db, 'big-', 600, { city: 'big' });
      expectStatus(await api(app)('POST', '/api/v1/campaigns', spec('backlog', 'big')), 201);
      const sandbox = app.sms.sandbox!;
      await waitFor(async () => sandbox.messages().length >= 20, 30_000, 'the campaign under way');
      await smsUser(t.database.db, 'big-order', '+919933334444');
      await notify(app, 'big-order');
      await waitFor(
        async () => sandbox.messages().some((m) => m.to === '+919933334444'),
        30_000,
        'the order SMS',
      );
      const [left] = await queryRows<{ n: number }>(
        t.database.db,
        sql`select count(*)::int as n from deliveries where details->>'campaign' = 'backlog' and status = 'queued'`,
      );
      assert.ok(left!.n > 300, `the order SMS went with ${left!.n} campaign SMS still queued`);
    } finally {
      await app.close();
    }
  });
});
