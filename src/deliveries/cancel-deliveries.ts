import { type SQL, sql } from 'drizzle-orm';
import type { SkipReason } from '../channels/delivery-errors.ts';
import { type Queryable, queryRows } from '../db/database.ts';
import type { DeliveryStatus } from '../db/schema.ts';
import { fromGuard, onlyFrom, TRANSITIONS } from './state-machine.ts';

/** Which notifications' deliveries to cancel: one by its public id, or all under a key (of one user). */
export type CancelTarget =
  | { notificationId: string }
  | { cancelKey: string; userExternalId?: string | undefined };

export interface CancelledDelivery {
  notificationId: string;
  channel: string;
  /** Its status after the call: skipped when this call cancelled it, else what it already was. */
  status: DeliveryStatus;
  cancelled: boolean;
}

const reason = 'cancelled' satisfies SkipReason;

/**
 * Cancel the target's waiting deliveries (cancel: queued → skipped, skip reason `cancelled`,
 * `detail` as their message and history line) in one statement, and answer every delivery of the
 * target with what became of it. The rows are locked first, so one a worker is claiming at this
 * moment is reported as the claim left it (sending), never cancelled under it: only queued rows
 * change, and the claim only takes queued rows, so a cancelled delivery is never sent.
 */
export async function cancelDeliveries(
  q: Queryable,
  target: CancelTarget,
  detail: string,
): Promise<CancelledDelivery[]> {
  const which: SQL =
    'notificationId' in target
      ? sql`n.notification_id = ${target.notificationId}`
      : target.userExternalId === undefined
        ? sql`n.cancel_key = ${target.cancelKey}`
        : sql`n.cancel_key = ${target.cancelKey}
              and n.user_id = (select id from users where external_id = ${target.userExternalId})`;
  const rows = await queryRows<{
    notification_id: string;
    channel: string;
    status: DeliveryStatus;
    cancelled: boolean;
  }>(
    q,
    sql`with target as (
      select d.id, d.channel, d.status, n.notification_id
      from deliveries d join notifications n on n.id = d.notification_id
      where ${which}
      order by d.id
      for update of d
    ), cancelled as (
      update deliveries d
      set status = ${TRANSITIONS.cancel.to}, skip_reason = ${reason}, error_message = ${detail},
          next_attempt_at = null, lease_owner = null, lease_expires_at = null, updated_at = now()
      from target t
      where d.id = t.id and ${fromGuard(sql`d.status`, 'cancel')}
      returning d.id, d.status
    ), history as (
      insert into delivery_status_history (delivery_id, from_status, to_status, detail)
      select id, ${onlyFrom('cancel')}, status, ${detail} from cancelled
    )
    select t.notification_id, t.channel, coalesce(c.status, t.status) as status, c.id is not null as cancelled
    from target t left join cancelled c on c.id = t.id
    order by t.id`,
  );
  return rows.map((r) => ({
    notificationId: r.notification_id,
    channel: r.channel,
    status: r.status,
    cancelled: r.cancelled,
  }));
}
