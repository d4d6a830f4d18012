import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import type { RunningApp } from '../../src/app.ts';
import { TestClock } from '../../src/clock.ts';
import { queryRows } from '../../src/db/database.ts';
import { SMS_INBOUND_PATH } from '../../src/inbound/sms-inbound.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { startSmsApp } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';
import { api, expectStatus, kolkataHhMm, seedUsers } from './helpers.ts';

const MINUTE = 60_000;

/**
 * A campaign through the whole service on a stepped clock, against the built-in Twilio sandbox:
 * created idempotently, estimated, started; only users opted in to promotional SMS are sent to, the
 * others counted as skipped by reason; a user in quiet hours waits for their end; the figures equal
 * the dry run's; a STOP reply to the campaign's SMS counts as its opt-out; webhooks say it started
 * and completed.
 */
describe(`a campaign to sandbox users (${ENGINE})`, () => {
  let t: TestDatabase;
  let clock: TestClock;
  let app: RunningApp;
  let call: ReturnType<typeof api>;
  let optedIn: string[];

  before(async () => {
    t = await createTestDatabase();
    clock = new TestClock();
    const now = clock.now();
    app = await startSmsApp(
      t,
      {
        // Polls on the test clock: each step past a due time wakes the worker and the campaign pass.
        WORKER_POLL_MS: '60000',
        CAMPAIGN_SEND_RATE: '100000',
        // A loaded machine must not time a send out: its retry would wait for the stepped clock.
        SMS_REQUEST_TIMEOUT_MS: '30000',
        OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
        // Open now, for hours: this test is about who is sent to; the window has its own test.
        CAMPAIGN_SMS_WINDOW: `${kolkataHhMm(now, -60)}-${kolkataHhMm(now, 240)}`,
      },
      undefined,
      clock,
    );
    call = api(app);
    const db = t.database.db;
    optedIn = await seedUsers(db, 'in-', 200);
    await seedUsers(db, 'out-', 40, { smsOptIn: false });
    await seedUsers(db, 'nophone-', 30, { phone: false });
    await seedUsers(db, 'quiet-', 30, { quietHours: [kolkataHhMm(now, -30), kolkataHhMm(now, 60)] });
    await seedUsers(db, 'elsewhere-', 25, { city: 'Delhi' });
    await db.execute(sql`insert into webhook_endpoints (url, secret, event_types)
      values ('https://hooks.example.com/lc', 'whsec_dGVzdHRlc3R0ZXN0dGVzdA==',
              array['campaign.started', 'campaign.completed'])`);
  });
  after(async () => {
    await app.close();
    await t.close();
  });

  const spec = {
    id: 'diwali-2026',
    name: 'Diwali offer',
    audience: { filter: { attributes: { city: 'Pune' } } },
    content: { sms: { en: { body: 'LaundryConnect: {{ first_name }}, 20% off with code {{ code }}.' } } },
    context: { code: 'DIWALI20' },
  };
  // biome-ignore lint/suspicious/noExplicitAny: the estimate is JSON the assertions inspect
  let estimate: Record<string, any>;

  test('a create is idempotent by id: the same body answers the first, another is a 409', async () => {
    const first = await call('POST', '/api/v1/campaigns', spec);
    expectStatus(first, 201);
    assert.equal(first.body['campaign'].state, 'draft');
    const again = await call('POST', '/api/v1/campaigns', spec);
    expectStatus(again, 200);
    assert.deepEqual(again.body['campaign'], first.body['campaign']);
    const other = await call('POST', '/api/v1/campaigns', { ...spec, name: 'Another' });
    expectStatus(other, 409);
    assert.equal(other.body['code'], 'CAMPAIGN_CONFLICT');
    const rows = await queryRows<{ n: number }>(t.database.db, sql`select count(*)::int as n from campaigns`);
    assert.equal(rows[0]!.n, 1);
  });

  test('the dry run counts the opted-in as targeted and every other as skipped by reason', async () => {
    const res = await call('POST', `/api/v1/campaigns/${spec.id}/estimate`);
    expectStatus(res, 200);
    estimate = res.body['estimate'];
    assert.equal(estimate['audience'], 300);
    assert.deepEqual(estimate['channels'], {
      sms: { targeted: 230, skipped: { disabled_by_user: 40, no_phone: 30 } },
    });
    // The opt-out text is appended, and counted: every text is one GSM-7 segment here.
    assert.equal(estimate['sms'].messages, 230);
    assert.equal(estimate['sms'].segments, 230);
    assert.deepEqual(
      estimate['sms'].by_country.map((c: { country: string }) => c.country),
      ['IN'],
    );
    const nothing = await queryRows<{ n: number }>(
      t.database.db,
      sql`select count(*)::int as n from notifications`,
    );
    assert.equal(nothing[0]!.n, 0, 'a dry run stores nothing');
  });

  test('started, it sends to the opted-in only; quiet hours hold theirs until they end', async () => {
    expectStatus(await call('POST', `/api/v1/campaigns/${spec.id}/start`), 200);
    await waitFor(
      async () => (await call('GET', `/api/v1/campaigns/${spec.id}`)).body['campaign'].expanded,
      20_000,
      'the expansion',
    );
    clock.advance(MINUTE + 1_000);
    const sandbox = app.sms.sandbox!;
    const phonesOf = async (prefix: string) =>
      new Set(
        (
          await queryRows<{ phone: string }>(
            t.database.db,
            sql`select phone from users where external_id like ${`${prefix}%`}`,
          )
        ).map((p) => p.phone),
      );
    const reached = () => new Set(sandbox.messages().map((m) => m.to));
    const sentTo = (n: number) => waitFor(async () => reached().size === n, 60_000, `SMS to ${n} users`);
    await sentTo(200);
    assert.deepEqual(reached(), await phonesOf('in-'));
    const bodies = sandbox.messages().map((m) => m.body);
    assert.ok(bodies.every((b) => b.endsWith('20% off with code DIWALI20. Reply STOP to opt out')));

    // Every outcome written before the clock jumps an hour: a lease still held would expire in it.
    await waitFor(async () => {
      const f = (await call('GET', `/api/v1/campaigns/${spec.id}/figures`)).body['figures'];
      return f.progress.sms.sending === 0 && f.progress.sms.sent + f.progress.sms.delivered === 200;
    }, 30_000);
    clock.advance(60 * MINUTE);
    await sentTo(230);
    assert.deepEqual(reached(), new Set([...(await phonesOf('in-')), ...(await phonesOf('quiet-'))]));
    assert.equal(sandbox.messages().length, 230, 'one SMS per user');
  });

  test('the figures equal the dry run, and the campaign completes', async () => {
    const figures = await waitFor(async () => {
      clock.advance(MINUTE);
      const f = (await call('GET', `/api/v1/campaigns/${spec.id}/figures`)).body['figures'];
      return f.state === 'completed' && f.progress.sms.delivered === 230 ? f : undefined;
    }, 30_000);
    assert.deepEqual(figures.channels, estimate['channels']);
    assert.equal(figures.sms.segments, estimate['sms'].segments);
    assert.deepEqual(figures.cost, estimate['sms'].cost);
    assert.equal(figures.recipients, 300);
    const events = await queryRows<{ event_type: string; payload: { campaign_id: string } }>(
      t.database.db,
      sql`select event_type, payload from webhook_outbox order by id`,
    );
    assert.deepEqual(
      events.map((e) => [e.event_type, e.payload.campaign_id]),
      [
        ['campaign.started', spec.id],
        ['campaign.completed', spec.id],
      ],
    );
  });

  test('a STOP reply to the campaign’s SMS is counted as an opt-out it caused', async () => {
    const [row] = await queryRows<{ phone: string }>(
      t.database.db,
      sql`select phone from users where external_id = ${optedIn[0]!}`,
    );
    const phone = row!.phone;
    const answer = await app.sms.sandbox!.sendInbound({
      from: phone,
      to: app.sms.from!,
      body: 'STOP',
      url: app.url + SMS_INBOUND_PATH,
    });
    assert.equal(answer.status, 200);
    const figures = (await call('GET', `/api/v1/campaigns/${spec.id}/figures`)).body['figures'];
    assert.equal(figures.opt_outs, 1);
  });

  test('clicks on the tracked links of its messages count in its figures, a link preview does not', async () => {
    const [d] = await queryRows<{ id: string }>(
      t.database.db,
      sql`select d.id from deliveries d
          where d.details->>'campaign' = ${spec.id} and d.channel = 'sms' and d.status = 'delivered' limit 1`,
    );
    await t.database.db.execute(sql`insert into tracked_links (id, delivery_id, target)
      values ('CampClick001', ${d!.id}, 'https://laundryconnect.com/offers/diwali')`);
    const follow = (userAgent: string) =>
      fetch(`${app.url}/l/CampClick001`, { redirect: 'manual', headers: { 'user-agent': userAgent } });
    for (const ua of ['Mozilla/5.0 (Linux; Android 14)', 'Mozilla/5.0 (iPhone)', 'WhatsApp/2.23.20.0']) {
      assert.equal((await follow(ua)).status, 302);
    }
    const figures = (await call('GET', `/api/v1/campaigns/${spec.id}/figures`)).body['figures'];
    assert.equal(figures.clicks, 2);
  });
});
