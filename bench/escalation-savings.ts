/**
 * What escalation saves (issue 18): the whole service in-process on PGlite with its Twilio sandbox
 * and a clock stepped by hand. N users get an `order_ready` (SMS escalated after 10 min); a share of
 * them read it in the inbox within 5 simulated minutes (spread evenly over them, through the API);
 * the clock then passes 10 min. Counted: the SMS the sandbox received, the skipped ones, the cost the
 * service recorded, and the cost without escalation (every user's SMS, at the measured per-SMS price:
 * the messages are the same template and context, so the same segments and price).
 * Usage: npx node bench/escalation-savings.ts [--notifications N] [--read-share 0.5]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import { startApp } from '../src/app.ts';
import { getNotificationType } from '../src/catalog/catalog.ts';
import { TestClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { queryRows } from '../src/db/database.ts';
import { createLogger } from '../src/logger.ts';
import { createBenchDatabase } from './environment.ts';

const { values } = parseArgs({
  options: {
    notifications: { type: 'string', default: '200' },
    'read-share': { type: 'string', default: '0.5' },
  },
});
const count = Number(values.notifications);
const readShare = Number(values['read-share']);
if (!Number.isInteger(count) || count < 1 || count > 1000)
  throw new Error('--notifications must be a whole number from 1 to 1000 (one batch)');
if (!(readShare >= 0 && readShare <= 1)) throw new Error('--read-share must be between 0 and 1');

const TYPE = 'order_ready';
const rule = getNotificationType(TYPE)!.rules!.escalation!;
const WAIT_MS = rule.afterMinutes * 60_000;
const READ_WITHIN_MS = 5 * 60_000;

/** Poll the database (real time) until `check` holds; the service works on its own meanwhile. */
async function until(check: () => Promise<boolean>, label: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const bench = await createBenchDatabase('pglite', '', { users: count, channels: ['sms', 'in_app'] });
const clock = new TestClock();
const adminKey = `lcn_esc_${randomBytes(16).toString('hex')}`;
const app = await startApp({
  config: loadConfig({
    ...bench.env,
    PORT: '0',
    ADMIN_API_KEY: adminKey,
    SMS_BACKEND: 'sandbox',
    SMS_PROVIDERS: 'twilio',
    SANDBOX_STEP_MS: '20',
    QUIET_HOURS_DEFAULT: 'off',
    RATE_LIMIT_PER_MINUTE: '1000000',
    OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
    LOG_LEVEL: 'error',
  }),
  api: true,
  worker: true,
  clock,
  logger: createLogger('error'),
});
try {
  const api = async (path: string, body?: unknown) => {
    const res = await fetch(`${app.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<Record<string, unknown>>;
  };
  const db = app.database.db;
  const deliveryCount = async (channel: string, statuses: string[]) => {
    const [row] = await queryRows<{ n: number }>(
      db,
      sql`select count(*)::int as n from deliveries where channel = ${channel}
            and status = any(${`{${statuses.join(',')}}`}::text[])`,
    );
    return row!.n;
  };

  const context = getNotificationType(TYPE)!.sampleContext;
  const created = await api('/api/v1/notifications/batch', {
    notifications: Array.from({ length: count }, (_, i) => ({
      user_id: `bench-user-${i + 1}`,
      type: TYPE,
      context,
    })),
  });
  const ids = (created['results'] as Array<{ notification_id: string | null }>).map((r) => r.notification_id);
  if (ids.some((id) => !id)) throw new Error('a notification was not created');
  await until(async () => (await deliveryCount('in_app', ['delivered'])) === count, 'the in-app messages');

  // The readers: every user whose index falls in the share, reading at evenly spread instants
  // of the first 5 minutes (a deterministic stand-in for "half read within 5 minutes").
  const readers = ids.flatMap((id, i) =>
    Math.floor((i + 1) * readShare) > Math.floor(i * readShare)
      ? [{ id: id!, user: `bench-user-${i + 1}` }]
      : [],
  );
  const step = READ_WITHIN_MS / (readers.length + 1);
  for (const r of readers) {
    clock.advance(step);
    await api(`/api/v1/inbox/${r.id}/read?user_id=${r.user}`);
  }
  clock.advance(WAIT_MS - step * readers.length);
  await until(
    async () => (await deliveryCount('sms', ['sent', 'delivered', 'skipped', 'failed'])) === count,
    'every SMS decided',
  );

  const [sms] = await queryRows<{
    sent: number;
    skipped_read: number;
    failed: number;
    cost: string | null;
    min_cost: string | null;
    max_cost: string | null;
    currency: string | null;
  }>(
    db,
    sql`select count(*) filter (where status in ('sent', 'delivered'))::int as sent,
               count(*) filter (where status = 'skipped' and skip_reason = 'read_in_app')::int as skipped_read,
               count(*) filter (where status = 'failed')::int as failed,
               sum(cost_amount)::text as cost, min(cost_amount)::text as min_cost,
               max(cost_amount)::text as max_cost, min(cost_currency) as currency
        from deliveries where channel = 'sms'`,
  );
  const atSandbox = app.sms.sandbox!.messages().filter((m) => m.direction === 'outbound-api').length;
  const { sent, skipped_read: skipped, failed } = sms!;
  if (sms!.min_cost !== sms!.max_cost)
    throw new Error('the SMS were priced differently; the estimate needs one price');
  const perSms = Number(sms!.min_cost ?? 0);
  const currency = sms!.currency ?? '';
  const spent = Number(sms!.cost ?? 0);
  const without = count * perSms;
  const money = (n: number) => `${n.toFixed(4)} ${currency}`;
  const lines = [
    `Escalation (${TYPE}: SMS after ${rule.afterMinutes} min unless read), ${count} notifications, ` +
      `${readers.length} read within 5 min (share ${readShare}), on PGlite with the sandbox:`,
    '',
    '| | SMS | cost |',
    '|---|---|---|',
    `| without escalation (every user's SMS) | ${count} | ${money(without)} |`,
    `| with escalation: sent (sandbox received ${atSandbox}) | ${sent} | ${money(spent)} |`,
    `| with escalation: skipped \`read_in_app\` | ${skipped} | ${money(0)} |`,
    `| **saved** | **${count - sent}** (${(((count - sent) / count) * 100).toFixed(0)} %) | **${money(without - spent)}** |`,
    '',
    `Per SMS: ${money(perSms)}${failed > 0 ? `; ${failed} failed` : ''}.`,
  ];
  console.log(lines.join('\n'));
  if (atSandbox !== sent || sent + skipped + failed !== count) {
    throw new Error(
      `counts disagree: sandbox ${atSandbox}, sent ${sent}, skipped ${skipped}, failed ${failed}`,
    );
  }
} finally {
  await app.close();
  await bench.drop();
}
