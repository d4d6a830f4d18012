import { sql } from 'drizzle-orm';
import { type Queryable, queryRows } from '../db/database.ts';
import { GroupCommit } from '../db/group-commit.ts';
import { TRANSITIONS_JSON } from './state-machine.ts';

/**
 * How far along a provider status is. Callbacks arrive out of order and more than once; a status
 * whose rank is not higher than the delivery's current one is recorded in the history but changes
 * nothing (a late `sent` after `delivered` must not regress it).
 */
export const PROVIDER_STATUS_RANK: Record<string, number> = {
  accepted: 0,
  scheduled: 0,
  queued: 0,
  sending: 1,
  sent: 2,
  delivered: 3,
  read: 3,
  undelivered: 3,
  failed: 3,
  canceled: 3,
};
/** The ranks as the SQL functions take them. */
export const PROVIDER_STATUS_RANKS_JSON = JSON.stringify(PROVIDER_STATUS_RANK);

export interface ProviderStatusUpdate {
  providerMessageId: string;
  providerStatus: string;
  /** The provider's error code: Twilio's are integers (kept a number in `metadata`), Vonage's text. */
  errorCode: number | string | null;
  /** The failure's text for the delivery's `error_message`. */
  errorMessage: string | null;
  price: string | null;
  /** When the failure is worth another attempt (e.g. 30003 unreachable handset), when to try. */
  retryAt: Date | null;
  /** Our reference the provider echoed (Vonage's `client-ref`: the delivery id), kept if it is parked. */
  reference?: string | null;
}

export interface AppliedStatus {
  deliveryId: string;
  notificationId: string;
  userId: string;
  applied: boolean;
  status: string;
  attempts: number;
  maxAttempts: number;
}

/**
 * Apply a batch of provider status reports in ONE call (update + history + the seed's
 * `metadata.sms.status` / `updated_at`, on the delivery's metadata part), one result per report, in order: undefined when no
 * delivery has that provider id. A batch must not hold two reports for one message (see
 * ProviderStatusWriter, which keeps them apart and in order). The statement is the PL/pgSQL
 * function lc_apply_provider_statuses (live body in src/db/schema.sql; 0008 made an identical
 * replayed callback record only once, 0009 writes the error's text and keeps the code a number in
 * `metadata`, 0012 takes its status and guard from the state machine: provider_* events, 0018
 * waits for a worker's uncommitted write of the same provider id and keeps text codes as text).
 */
export async function applyProviderStatuses(
  q: Queryable,
  updates: readonly ProviderStatusUpdate[],
): Promise<Array<AppliedStatus | undefined>> {
  if (updates.length === 0) return [];
  const payload = JSON.stringify(
    updates.map((u, ord) => {
      const failed = u.providerStatus === 'failed' || u.providerStatus === 'undelivered';
      return {
        ord,
        sid: u.providerMessageId,
        status: u.providerStatus,
        rank: Object.hasOwn(PROVIDER_STATUS_RANK, u.providerStatus)
          ? PROVIDER_STATUS_RANK[u.providerStatus]
          : -1,
        delivered: u.providerStatus === 'delivered' || u.providerStatus === 'read',
        failed,
        retry_at: failed ? (u.retryAt?.toISOString() ?? null) : null,
        error_code: u.errorCode,
        error_message: u.errorMessage,
        price: u.price,
        client_ref: u.reference ?? null,
      };
    }),
  );
  const rows = await queryRows<{
    ord: number;
    id: string;
    notification_id: string;
    user_id: string;
    applied: boolean;
    status: string;
    attempts: number;
    max_attempts: number;
  }>(
    q,
    sql`select * from lc_apply_provider_statuses(${payload}::jsonb, ${PROVIDER_STATUS_RANKS_JSON}::jsonb,
      ${TRANSITIONS_JSON}::jsonb)`,
  );
  const byOrd = new Map(rows.map((r) => [Number(r.ord), r]));
  return updates.map((_, ord) => {
    const row = byOrd.get(ord);
    if (!row) return undefined;
    return {
      deliveryId: String(row.id),
      notificationId: String(row.notification_id),
      userId: String(row.user_id),
      applied: row.applied,
      status: row.status,
      attempts: row.attempts,
      maxAttempts: row.max_attempts,
    };
  });
}

/**
 * Status reports arrive one HTTP request each (three per SMS); written one statement apiece they
 * cost a round trip each. This writer group-commits them: each caller still awaits its own result.
 */
export class ProviderStatusWriter {
  readonly #commit: GroupCommit<ProviderStatusUpdate, AppliedStatus | undefined>;

  constructor(q: Queryable, maxBatch = 500) {
    this.#commit = new GroupCommit((updates) => applyProviderStatuses(q, updates), {
      maxBatch,
      key: (u) => u.providerMessageId,
    });
  }

  apply(update: ProviderStatusUpdate): Promise<AppliedStatus | undefined> {
    return this.#commit.submit(update);
  }
}

/**
 * The furthest-along status report parked for a message whose id no delivery holds, found by the
 * reference the provider echoed: how a send that got no answer learns that the provider did take
 * it (its receipt came, naming our delivery id). Undefined when none came.
 */
export async function findParkedStatus(
  q: Queryable,
  reference: string,
): Promise<{ providerMessageId: string; providerStatus: string } | undefined> {
  const [row] = await queryRows<{ sid: string; status: string }>(
    q,
    sql`select report->>'sid' as sid, report->>'status' as status from early_provider_statuses
        where report->>'client_ref' = ${reference}
        order by (report->>'rank')::int desc, id desc limit 1`,
  );
  return row ? { providerMessageId: row.sid, providerStatus: row.status } : undefined;
}
