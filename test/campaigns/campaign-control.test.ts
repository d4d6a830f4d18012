import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { TestClock } from '../../src/clock.ts';
import { queryRows } from '../../src/db/database.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { notify, smsUser, startSmsApp } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE } from '../helpers/test-db.ts';
import { api, expectStatus, kolkataHhMm, seedUsers } from './helpers.ts';

const MINUTE = 60_000;

/**
 * Control of a running campaign on a stepped clock (WORKER_POLL_MS a minute of it, one campaign SMS
 * falling due a second): a pause holds what is queued and a resume sends it on; a cancel mid-way
 * sends nothing more; a promotional SMS outside the promotional window waits for it. "Nothing more
 * was sent" is proven with a control notification created after: once it reached the sandbox, the
 * worker has claimed past every campaign row that was due.
 */
async function setup(window: (now: number) => string) {
  const t = await createTestDatabase();
  const clock = new TestClock();
  const app = await startSmsApp(
    t,
    {
      WORKER_POLL_MS: '60000',
      CAMPAIGN_SEND_RATE: '1',
      CAMPAIGN_SMS_WINDOW: window(clock.now()),
      SMS_REQUEST_TIMEOUT_MS: '30000',
      OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
    },
    undefined,
    clock,
  );
  return { t, clock, app, call: api(app) };
}

function campaign(id: string, prefix: string) {
  return {
    id,
    name: id,
    audience: { filter: { attributes: { city: prefix } } },
    content: { sms: { en: { body: 'LaundryConnect: weekend offer, 10% off. Reply STOP to opt out' } } },
    schedule: 'now',
  };
}

describe(`pause, resume and cancel a running campaign (${ENGINE})`, () => {
  let s: Awaited<ReturnType<typeof setup>>;
  let controls = 0;
  before(async () => {
    // Open all day but the minute before midnight, Kolkata time, for this suite.
    s = await setup(() => '00:00-23:59');
  });
  after(async () => {
    await s.app.close();
    await s.t.close();
  });

  const sentFor = async (prefix: string) =>
    (
      await queryRows<{ n: number }>(
        s.t.database.db,
        sql`select count(*)::int as n from users where external_id like ${`${prefix}%`}
            and phone in (select jsonb_array_elements_text(${JSON.stringify(
              s.app.sms.sandbox!.messages().map((m) => m.to),
            )}::jsonb))`,
      )
    )[0]!.n;
  const figures = async (id: string) =>
    (await s.call('GET', `/api/v1/campaigns/${id}/figures`)).body['figures'];
  const expanded = (id: string) =>
    waitFor(async () => (await s.call('GET', `/api/v1/campaigns/${id}`)).body['campaign'].expanded, 20_000);

  /** An order notification after the campaign's rows: sent means the worker claimed past them. */
  async function witness() {
    const id = `control-${++controls}`;
    const phone = `+91990000${String(controls).padStart(4, '0')}`;
    await smsUser(s.t.database.db, id, phone);
    await notify(s.app, id, 'order_confirmed', s.clock);
    s.clock.advance(MINUTE);
    await waitFor(
      async () => s.app.sms.sandbox!.messages().some((m) => m.to === phone),
      30_000,
      'the control SMS',
    );
  }

  test('a cancel mid-way cancels what is queued, in the same step, and nothing more is sent', async () => {
    await seedUsers(s.t.database.db, 'cx-', 120, { city: 'cx' });
    expectStatus(await s.call('POST', '/api/v1/campaigns', campaign('cancel-me', 'cx')), 201);
    await expanded('cancel-me');
    // One a second from the start: a minute and a bit later about 61 are due.
    s.clock.advance(MINUTE + 500);
    await waitFor(async () => (await sentFor('cx-')) >= 61, 30_000, 'the first minute of SMS');
    const cancelled = await s.call('POST', '/api/v1/campaigns/cancel-me/cancel');
    expectStatus(cancelled, 200);
    assert.equal(cancelled.body['campaign'].state, 'cancelled');
    const atCancel = await figures('cancel-me');
    assert.ok(atCancel.progress.sms.cancelled > 0, JSON.stringify(atCancel));
    assert.equal(atCancel.progress.sms.queued, 0);
    s.clock.advance(10 * MINUTE);
    await witness();
    const after = await figures('cancel-me');
    assert.equal(after.progress.sms.cancelled, atCancel.progress.sms.cancelled);
    assert.equal(
      await sentFor('cx-'),
      120 - atCancel.progress.sms.cancelled,
      'only what was not cancelled reached the provider',
    );
    expectStatus(await s.call('POST', '/api/v1/campaigns/cancel-me/resume'), 409);
  });

  test('a pause holds the queued messages; a resume sends them on, paced again', async () => {
    await seedUsers(s.t.database.db, 'px-', 90, { city: 'px' });
    expectStatus(await s.call('POST', '/api/v1/campaigns', campaign('pause-me', 'px')), 201);
    await expanded('pause-me');
    s.clock.advance(MINUTE + 500);
    await waitFor(async () => (await sentFor('px-')) >= 61, 30_000, 'the first minute of SMS');
    expectStatus(await s.call('POST', '/api/v1/campaigns/pause-me/pause'), 200);
    const paused = await waitFor(async () => {
      const f = await figures('pause-me');
      return f.progress.sms.sending === 0 ? f : undefined;
    });
    s.clock.advance(10 * MINUTE);
    await witness();
    const held = paused.progress.sms.queued;
    assert.ok(held > 0);
    assert.equal(await sentFor('px-'), 90 - held, 'nothing was sent while paused');

    expectStatus(await s.call('POST', '/api/v1/campaigns/pause-me/resume'), 200);
    s.clock.advance(2 * MINUTE);
    await waitFor(async () => (await sentFor('px-')) === 90, 30_000, 'the rest after the resume');
    const done = await waitFor(async () => {
      s.clock.advance(MINUTE);
      const f = await figures('pause-me');
      return f.state === 'completed' ? f : undefined;
    }, 30_000);
    assert.equal(done.channels.sms.targeted, 90);
  });
});

describe(`the promotional SMS window (${ENGINE})`, () => {
  let s: Awaited<ReturnType<typeof setup>>;
  before(async () => {
    // Opens two hours from now, Kolkata time (every seeded user's zone), for six hours.
    s = await setup((now) => `${kolkataHhMm(now, 120)}-${kolkataHhMm(now, 480)}`);
  });
  after(async () => {
    await s.app.close();
    await s.t.close();
  });

  test('outside the window a campaign SMS waits for it to open, while an order SMS goes at once', async () => {
    await seedUsers(s.t.database.db, 'wx-', 5, { city: 'wx' });
    expectStatus(await s.call('POST', '/api/v1/campaigns', campaign('later', 'wx')), 201);
    await waitFor(async () => (await s.call('GET', '/api/v1/campaigns/later')).body['campaign'].expanded);
    const opening = Math.ceil((s.clock.now() + 120 * MINUTE) / MINUTE) * MINUTE;
    const due = await queryRows<{ at: string }>(
      s.t.database.db,
      sql`select next_attempt_at as at from deliveries where details->>'campaign' = 'later'`,
    );
    // The window opens on the minute: Kolkata's wall clock is whole minutes from UTC.
    const floor = Math.floor((s.clock.now() + 120 * MINUTE) / MINUTE) * MINUTE;
    for (const d of due) assert.ok([floor, opening].includes(Date.parse(d.at)), d.at);

    await smsUser(s.t.database.db, 'order-user', '+919900009999');
    await notify(s.app, 'order-user', 'order_confirmed', s.clock);
    s.clock.advance(MINUTE);
    const sandbox = s.app.sms.sandbox!;
    await waitFor(
      async () => sandbox.messages().some((m) => m.to === '+919900009999'),
      30_000,
      'the order SMS',
    );
    assert.equal(sandbox.messages().length, 1, 'no campaign SMS before the window');

    s.clock.advance(120 * MINUTE);
    await waitFor(
      async () => sandbox.messages().length === 6,
      30_000,
      'the campaign SMS once the window opened',
    );
  });
});
