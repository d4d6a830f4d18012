import { and, desc, eq, lt, type SQL } from 'drizzle-orm';
import type { Queryable } from '../db/database.ts';
import { consoleAudit } from '../db/schema.ts';
import type { ConsoleOperator } from './session.ts';

/** One change an operator made from the console. */
export interface AuditChange {
  /** What was done, as `<thing>.<verb>`: `template.saved`, `delivery.resent`, `sandbox.fault_set`… */
  action: string;
  /** What it was done to: a type (`template`, `delivery`, `user`, `sandbox_number`) and its id. */
  targetType: string;
  targetId: string | number;
  /** The target's state before and after, as the page showed it (null: it did not exist / is gone). */
  before: unknown;
  after: unknown;
}

export interface AuditRecord {
  id: number;
  at: Date;
  actor: string;
  apiKeyId: number | null;
  action: string;
  targetType: string;
  targetId: string;
  before: unknown;
  after: unknown;
}

/**
 * Record a change. Call it with the transaction that makes the change, so the log holds exactly
 * what happened: a change that rolls back leaves no entry, and none is made without one.
 */
export async function recordAudit(
  q: Queryable,
  operator: ConsoleOperator,
  change: AuditChange,
  at: Date,
): Promise<void> {
  await q.insert(consoleAudit).values({
    at,
    apiKeyId: operator.apiKeyId,
    actor: operator.name,
    action: change.action,
    targetType: change.targetType,
    targetId: String(change.targetId),
    before: change.before ?? null,
    after: change.after ?? null,
  });
}

export interface AuditQuery {
  /** Entries older than this id (the previous page's last): newest first, cursor-paginated. */
  beforeId?: number;
  targetType?: string;
  targetId?: string;
  limit: number;
}

/** Newest first; `limit + 1` rows are read so the caller knows whether there is a next page. */
export async function listAudit(
  q: Queryable,
  query: AuditQuery,
): Promise<{ entries: AuditRecord[]; more: boolean }> {
  const where: SQL[] = [];
  if (query.beforeId !== undefined) where.push(lt(consoleAudit.id, query.beforeId));
  if (query.targetType) where.push(eq(consoleAudit.targetType, query.targetType));
  if (query.targetId) where.push(eq(consoleAudit.targetId, query.targetId));
  const rows = await q
    .select()
    .from(consoleAudit)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(consoleAudit.id))
    .limit(query.limit + 1);
  return { entries: rows.slice(0, query.limit), more: rows.length > query.limit };
}
