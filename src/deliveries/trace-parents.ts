import { sql } from 'drizzle-orm';
import { type Queryable, queryRows } from '../db/database.ts';

/**
 * The traceparents the claimed deliveries were created with (enqueue.ts writes them while tracing
 * is on): one read by primary key per claim pass, made only when tracing is on, so the claim's
 * hot statement is the same either way.
 */
export async function readTraceParents(
  q: Queryable,
  deliveryIds: readonly string[],
): Promise<Map<string, string>> {
  if (deliveryIds.length === 0) return new Map();
  const rows = await queryRows<{ id: string; trace_parent: string }>(
    q,
    sql`select id::text as id, trace_parent from deliveries
        where id = any(${`{${deliveryIds.join(',')}}`}::bigint[]) and trace_parent is not null`,
  );
  return new Map(rows.map((r) => [r.id, r.trace_parent]));
}
