/**
 * Idempotency keys of notification creation: a key names one request (its content hashed); the
 * same key again with the same content is a replay of the first notification, with other content
 * a conflict. Keys are claimed by lc_insert_notifications (deliveries/enqueue.ts).
 */
import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { type Db, queryRows } from '../db/database.ts';
import type { IdempotencyClaim } from '../deliveries/enqueue.ts';
import { AppError } from '../errors.ts';
import type { CreateNotificationInput } from './create-notification.ts';

/** The keys already taken among `claims`, with what their holders recorded, in one query. */
export async function findIdempotencyKeys(
  db: Db,
  claims: readonly IdempotencyClaim[],
): Promise<Map<string, { requestHash: string; response: Record<string, unknown> | null }>> {
  if (claims.length === 0) return new Map();
  const rows = await queryRows<{
    scope: string;
    key: string;
    request_hash: string;
    response: Record<string, unknown> | null;
  }>(
    db,
    sql`select k.scope, k.key, k.request_hash, k.response
        from jsonb_to_recordset(${JSON.stringify(claims.map(({ scope, key }) => ({ scope, key })))}::jsonb)
          as c(scope text, key text)
        join idempotency_keys k on k.scope = c.scope and k.key = c.key`,
  );
  return new Map(rows.map((r) => [claimKey(r), { requestHash: r.request_hash, response: r.response }]));
}

export function claimKey(k: { scope: string; key: string }): string {
  return JSON.stringify([k.scope, k.key]);
}

/** A key reused for a different request is a conflict, not a replay. */
export function checkReplay(
  k: IdempotencyClaim,
  held: { requestHash: string; response: Record<string, unknown> | null },
) {
  if (held.requestHash !== k.requestHash) {
    throw new AppError(
      'IDEMPOTENCY_CONFLICT',
      `Idempotency-Key "${k.key}" was already used for a different request`,
    );
  }
  return String(held.response?.['notification_id']);
}

export function hashRequest(input: CreateNotificationInput): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        input.userId,
        input.type,
        input.context,
        input.title ?? null,
        input.message ?? null,
        // Only when given, so a key stored before scheduling existed still replays.
        ...(input.sendAt !== undefined || input.cancelKey !== undefined
          ? [input.sendAt ?? null, input.cancelKey ?? null]
          : []),
      ]),
    )
    .digest('hex');
}
