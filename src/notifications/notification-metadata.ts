import { sql } from 'drizzle-orm';

type MetadataPart = Record<string, unknown>;

/**
 * The seed's `notification.metadata` (`{"sms": {…}, "push": {…}}`). Each delivery stores its
 * channel's part (`deliveries.metadata`, written with the delivery's own outcome and status
 * reports, so the hot path never rewrites the notification row); the notification's metadata is
 * the parts merged in delivery order.
 */
export function mergeMetadata(parts: readonly MetadataPart[]): MetadataPart {
  return Object.assign({}, ...parts);
}

/**
 * The parts of the notification in the row being selected, in delivery order. The column is
 * spelled out: in a select list Drizzle renders `${notifications.id}` as a bare "id", which inside
 * this subquery would be the delivery's own.
 */
export const metadataParts = sql<MetadataPart[]>`(
  select coalesce(jsonb_agg(d.metadata order by d.id), '[]'::jsonb)
  from deliveries d where d.notification_id = "notifications"."id")`;
