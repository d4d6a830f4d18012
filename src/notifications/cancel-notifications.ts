import type { Queryable } from '../db/database.ts';
import { type CancelTarget, cancelDeliveries } from '../deliveries/cancel-deliveries.ts';

/** What became of one delivery: cancelled by this call, or why not (`already_sent`, `already_skipped`…). */
export type CancelResult = 'cancelled' | `already_${string}`;

export interface CancelAnswer {
  cancelled: number;
  not_cancelled: number;
  deliveries: Array<{ notification_id: string; channel: string; status: string; result: CancelResult }>;
}

/**
 * Cancel by id or by key (deliveries/cancel-deliveries.ts) and answer per delivery, so a caller
 * cancelling after the due time is told the SMS was already sent rather than a bare count.
 */
export async function cancelNotifications(q: Queryable, target: CancelTarget): Promise<CancelAnswer> {
  const detail = 'notificationId' in target ? 'cancelled by id' : `cancelled by key ${target.cancelKey}`;
  const rows = await cancelDeliveries(q, target, detail);
  const cancelled = rows.filter((r) => r.cancelled).length;
  return {
    cancelled,
    not_cancelled: rows.length - cancelled,
    deliveries: rows.map((r) => ({
      notification_id: r.notificationId,
      channel: r.channel,
      status: r.status,
      result: r.cancelled ? 'cancelled' : `already_${r.status}`,
    })),
  };
}
