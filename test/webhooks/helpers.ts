import { sql } from 'drizzle-orm';
import type { Clock } from '../../src/clock.ts';
import type { Db } from '../../src/db/database.ts';
import { type Queryable, queryRows } from '../../src/db/database.ts';
import { WebhookDispatcher } from '../../src/webhooks/dispatcher.ts';
import { createEndpoint } from '../../src/webhooks/endpoint-store.ts';
import { silentLogger } from '../helpers/test-db.ts';

let seq = 0;

/** A user and one notification written straight to the tables: the trigger's notification.created. */
export async function insertNotification(q: Queryable, userId = 'wh-user'): Promise<string> {
  const id = `ntf_wh_${++seq}_${Date.now()}`;
  await q.execute(sql`insert into users (external_id) values (${userId}) on conflict do nothing`);
  await q.execute(sql`
    insert into notifications (notification_id, user_id, type, category, priority, title, message)
    values (${id}, (select id from users where external_id = ${userId}), 'order_confirmed', 'order_updates',
            'critical', 'Order confirmed', 'Your order is confirmed')`);
  return id;
}

export async function registerEndpoint(db: Db, url: string, eventTypes: string[] = []) {
  return createEndpoint(db, { url, eventTypes, description: 'test', enabled: true });
}

export interface OutboxRow {
  id: string;
  message_id: string;
  endpoint_id: string;
  event_type: string;
  payload: Record<string, unknown>;
  state: string;
  attempts: number;
}

export const outbox = (q: Queryable) =>
  queryRows<OutboxRow>(q, sql`select * from webhook_outbox order by id`);

export const attempts = (q: Queryable) =>
  queryRows<{
    attempted_at: Date | string;
    status_code: number | null;
    error: string | null;
    response_excerpt: string | null;
  }>(q, sql`select * from webhook_attempts order by id`);

export function makeDispatcher(
  db: Db,
  clock: Clock,
  o: Partial<ConstructorParameters<typeof WebhookDispatcher>[0]> = {},
) {
  return new WebhookDispatcher({
    db,
    logger: silentLogger,
    clock,
    random: () => 0.5,
    maxInFlightPerEndpoint: 5,
    timeoutMs: 5_000,
    pollMs: 1_000,
    allowPrivateTargets: true,
    ...o,
  });
}
