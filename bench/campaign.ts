/**
 * A large campaign beside transactional traffic (issue 19): the whole service in-process (worker and
 * the built-in Twilio sandbox) on a fresh database of N users opted in to promotional SMS.
 *   1. baseline: order SMS one after another with an empty queue, each one's created → sent time;
 *   2. a campaign to all N users: the time from its create until every recipient was accepted
 *      (expanded into notifications and queued through the bulk insert path), while the worker sends;
 *   3. the same order SMS while the campaign's backlog waits, with the backlog's size at each;
 *   4. the plans of the claim's two arms with the backlog in the table; then the campaign is cancelled.
 * Usage: npx node bench/campaign.ts [--engine pglite|postgres] [--postgres-url URL] [--recipients N]
 *        [--orders N] [--accept-only]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import { startApp } from '../src/app.ts';
import { cancelCampaign, createCampaign } from '../src/campaigns/campaign-control.ts';
import { runCampaignPass } from '../src/campaigns/campaign-runner.ts';
import { campaignSpec } from '../src/campaigns/campaign-spec.ts';
import { getNotificationType } from '../src/catalog/catalog.ts';
import { loadConfig } from '../src/config.ts';
import { queryRows } from '../src/db/database.ts';
import { createNotification } from '../src/notifications/create-notification.ts';
import { createBenchDatabase } from './environment.ts';

const { values } = parseArgs({
  options: {
    engine: { type: 'string', default: 'pglite' },
    'postgres-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    recipients: { type: 'string', default: '100000' },
    orders: { type: 'string', default: '20' },
    // Only step 2, with no worker sending beside it: the expansion's own rate.
    'accept-only': { type: 'boolean', default: false },
  },
});
const engine = values.engine === 'postgres' ? 'postgres' : 'pglite';
const recipients = Number(values.recipients);
const orders = Number(values.orders);

async function until(check: () => Promise<boolean>, label: string, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const bench = await createBenchDatabase(engine, values['postgres-url']);
const app = await startApp({
  config: loadConfig({
    ...bench.env,
    PORT: '0',
    ADMIN_API_KEY: `lcn_campaign_${randomBytes(16).toString('hex')}`,
    SMS_BACKEND: 'sandbox',
    SMS_PROVIDERS: 'twilio',
    SANDBOX_STEP_MS: '20',
    QUIET_HOURS_DEFAULT: 'off',
    LOG_LEVEL: 'silent',
    OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
    // The worst case for the queue: every campaign SMS due at once, the window open all day.
    CAMPAIGN_SEND_RATE: '1000000',
    CAMPAIGN_SMS_WINDOW: '00:00-23:59',
  }),
  api: false,
  worker: !values['accept-only'],
});
const db = app.database.db;
try {
  await db.execute(sql`insert into users (external_id, phone, first_name, attributes)
    select 'c' || i, '+9197' || lpad(i::text, 8, '0'), 'Asha', '{"segment": "all"}'::jsonb
    from generate_series(1, ${recipients}) i`);
  await db.execute(sql`insert into notification_preferences (user_id, category, channel, enabled)
    select id, 'promotions', 'sms', true from users where external_id like 'c%'`);
  await db.execute(sql`insert into users (external_id, phone, first_name)
    select 'order' || i, '+9196' || lpad(i::text, 8, '0'), 'Ravi' from generate_series(1, ${orders * 2}) i`);
  await db.execute(sql`insert into notification_preferences (user_id, category, channel, enabled)
    select id, 'order_updates', 'sms', true from users where external_id like 'order%'`);
  await db.execute(sql`analyze`);

  let orderSeq = 0;
  /** One order SMS after another: created → sent (the database's timestamps), in ms. */
  async function orderLatencies(): Promise<{ ms: number[]; backlog: number[] }> {
    const ms: number[] = [];
    const backlog: number[] = [];
    for (let i = 0; i < orders; i++) {
      const [b] = await queryRows<{ n: number }>(
        db,
        sql`select count(*)::int as n from deliveries where status = 'queued' and details ? 'campaign'`,
      );
      backlog.push(b!.n);
      const { notificationId } = await createNotification(app.campaigns, {
        userId: `order${++orderSeq}`,
        type: 'order_confirmed',
        context: getNotificationType('order_confirmed')!.sampleContext,
      });
      let latency = 0;
      await until(async () => {
        const [row] = await queryRows<{ ms: number | null }>(
          db,
          sql`select (extract(epoch from d.sent_at - d.created_at) * 1000)::float8 as ms
              from deliveries d join notifications n on n.id = d.notification_id
              where n.notification_id = ${notificationId} and d.channel = 'sms' and d.sent_at is not null`,
        );
        latency = row?.ms ?? 0;
        return row !== undefined;
      }, 'an order SMS');
      ms.push(Math.round(latency));
    }
    return { ms, backlog };
  }
  const summary = (ms: number[]) => {
    const s = [...ms].sort((a, b) => a - b);
    return { p50: s[Math.floor(s.length / 2)], max: s.at(-1) };
  };

  console.error(`seeded ${recipients} users`);
  if (values['accept-only']) {
    const spec = campaignSpec.parse({
      id: 'accept',
      name: 'accept',
      audience: { filter: { attributes: { segment: 'all' } } },
      content: { sms: { en: { body: 'LaundryConnect: {{ first_name }}, 15% off this week.' } } },
      schedule: 'now',
    });
    const started = Date.now();
    await createCampaign(app.campaigns, spec, 'bench');
    await runCampaignPass(app.campaigns);
    const seconds = (Date.now() - started) / 1000;
    console.log(
      JSON.stringify({
        engine,
        recipients,
        accepted_seconds: seconds,
        per_second: Math.round(recipients / seconds),
      }),
    );
    process.exitCode = 0;
  } else {
    const baseline = await orderLatencies();
    console.error(`baseline order SMS: ${baseline.ms.join(', ')} ms`);
    const spec = campaignSpec.parse({
      id: 'bench',
      name: 'bench',
      audience: { filter: { attributes: { segment: 'all' } } },
      content: { sms: { en: { body: 'LaundryConnect: {{ first_name }}, 15% off this week.' } } },
      schedule: 'now',
    });
    const created = Date.now();
    await createCampaign(app.campaigns, spec, 'bench');
    await until(async () => {
      const [row] = await queryRows<{ expanded: boolean }>(
        db,
        sql`select expanded from campaigns where id = 'bench'`,
      );
      return row!.expanded;
    }, 'the expansion');
    const acceptedS = (Date.now() - created) / 1000;
    console.error(`${recipients} recipients accepted in ${acceptedS} s`);
    const during = await orderLatencies();
    const plans: Record<string, string[]> = {};
    for (const [arm, cond] of [
      ['regular', sql`is null`],
      ['campaign', sql`is not null`],
    ] as const) {
      const rows = await queryRows<{ 'QUERY PLAN': string }>(
        db,
        sql`explain select d.id from deliveries d
          where d.status = 'queued' and (d.details->>'campaign') ${cond} and d.channel = 'sms' and d.next_attempt_at <= now()
          order by d.next_attempt_at limit 50 for update skip locked`,
      );
      plans[arm] = rows.map((r) => r['QUERY PLAN']);
    }
    const cancelled = await cancelCampaign(app.campaigns, 'bench');
    const [sent] = await queryRows<{ n: number }>(
      db,
      sql`select count(*)::int as n from deliveries where details->>'campaign' = 'bench' and status in ('sent', 'delivered')`,
    );
    console.log(
      JSON.stringify(
        {
          engine,
          recipients,
          accepted_seconds: acceptedS,
          accepted_per_second: Math.round(recipients / acceptedS),
          order_sms_created_to_sent_ms: {
            empty_queue: summary(baseline.ms),
            during_campaign: summary(during.ms),
            campaign_backlog_at_each: summary(during.backlog),
          },
          campaign_sms_sent_before_cancel: sent!.n,
          cancelled: cancelled.cancelled,
          claim_plans: plans,
        },
        null,
        2,
      ),
    );
  }
} finally {
  await app.close();
  await bench.drop();
}
