/**
 * The campaigns table's statements, one function each: create (idempotent by the client's id, with
 * the content's template rows in the same transaction), read, lock, move the state, save the
 * expansion's progress. The state is only ever moved through `nextState` (campaign-state.ts).
 */
import { and, desc, eq, inArray, lt, sql } from 'drizzle-orm';
import type { Db, Queryable } from '../db/database.ts';
import { type CampaignState, campaigns, notificationTemplates } from '../db/schema.ts';
import { AppError } from '../errors.ts';
import { campaignTemplateRows } from './campaign-content.ts';
import { type CampaignSpec, specHash } from './campaign-spec.ts';
import { type CampaignAction, nextState } from './campaign-state.ts';

export type CampaignRow = typeof campaigns.$inferSelect;

/**
 * Store a new draft campaign and its templates, or answer the one already stored under this id:
 * `created: false` when its body is the same (a retried create), CAMPAIGN_CONFLICT when it is not.
 */
export async function insertCampaign(
  db: Db,
  spec: CampaignSpec,
  createdBy: string,
): Promise<{ campaign: CampaignRow; created: boolean }> {
  const hash = specHash(spec);
  const inserted = await db.transaction(async (tx) => {
    const [row] = await tx
      .insert(campaigns)
      .values({ id: spec.id, name: spec.name, requestHash: hash, spec, createdBy })
      .onConflictDoNothing()
      .returning();
    if (!row) return undefined;
    await tx
      .insert(notificationTemplates)
      .values(campaignTemplateRows(spec).map((r) => ({ ...r, version: 1, createdBy })));
    return row;
  });
  if (inserted) return { campaign: inserted, created: true };
  const existing = await requireCampaign(db, spec.id);
  if (existing.requestHash !== hash) {
    throw new AppError('CAMPAIGN_CONFLICT', `Campaign "${spec.id}" exists with a different body`);
  }
  return { campaign: existing, created: false };
}

export async function findCampaign(q: Queryable, id: string): Promise<CampaignRow | undefined> {
  const [row] = await q.select().from(campaigns).where(eq(campaigns.id, id));
  return row;
}

export async function requireCampaign(q: Queryable, id: string): Promise<CampaignRow> {
  const row = await findCampaign(q, id);
  if (!row) throw new AppError('CAMPAIGN_NOT_FOUND', `No campaign "${id}"`);
  return row;
}

/** The row locked for the rest of the transaction: state changes and expansion pages serialise on it. */
export async function lockCampaign(tx: Queryable, id: string): Promise<CampaignRow> {
  const [row] = await tx.select().from(campaigns).where(eq(campaigns.id, id)).for('update');
  if (!row) throw new AppError('CAMPAIGN_NOT_FOUND', `No campaign "${id}"`);
  return row;
}

/** Newest first, a page at a time (`before`: the created_at to continue before). */
export async function listCampaigns(
  q: Queryable,
  page: { limit: number; before?: Date | undefined; state?: CampaignState | undefined },
): Promise<CampaignRow[]> {
  return q
    .select()
    .from(campaigns)
    .where(
      and(page.before && lt(campaigns.createdAt, page.before), page.state && eq(campaigns.state, page.state)),
    )
    .orderBy(desc(campaigns.createdAt))
    .limit(page.limit);
}

/** Move a locked campaign by `action` (a 409 if its state does not allow it); answers the new row. */
export async function moveCampaign(
  tx: Queryable,
  row: CampaignRow,
  action: CampaignAction,
  set: Partial<Pick<CampaignRow, 'startAt' | 'startedAt' | 'finishedAt'>> = {},
): Promise<CampaignRow> {
  const state = nextState(row.id, row.state, action);
  const [moved] = await tx
    .update(campaigns)
    .set({ state, ...set, updatedAt: sql`now()` })
    .where(eq(campaigns.id, row.id))
    .returning();
  return moved!;
}

/** An expansion page is stored: where the next one starts, and how many deliveries it queued. */
export async function saveExpansion(
  tx: Queryable,
  id: string,
  page: { cursor: number; queued: number; unknown: number; done: boolean },
): Promise<void> {
  await tx
    .update(campaigns)
    .set({
      expandCursor: page.cursor,
      queuedCount: sql`${campaigns.queuedCount} + ${page.queued}`,
      unknownUsers: sql`${campaigns.unknownUsers} + ${page.unknown}`,
      expanded: page.done,
      updatedAt: sql`now()`,
    })
    .where(eq(campaigns.id, id));
}

/** Campaigns the runner has work for: scheduled ones (their time may have come) and running ones. */
export async function activeCampaigns(q: Queryable): Promise<CampaignRow[]> {
  return q
    .select()
    .from(campaigns)
    .where(inArray(campaigns.state, ['scheduled', 'running']))
    .orderBy(campaigns.createdAt);
}
