/**
 * A running campaign's audience becomes notifications, a page at a time, through the bulk insert
 * path (storeNotifications: one statement per page, issue 16). Each page is one transaction that
 * holds the campaign's row lock, so a pause or cancel waits for the page in progress and the next
 * page sees it; the page's notifications and the saved cursor commit together, and every recipient
 * carries the idempotency key campaign id + user id, so a crash mid-expansion resumes at the page
 * it was on and nothing is stored twice.
 */
import { AppError } from '../errors.ts';
import { storeNotifications } from '../notifications/create-notification.ts';
import { audiencePage } from './audience.ts';
import type { CampaignSpec } from './campaign-spec.ts';
import { lockCampaign, saveExpansion } from './campaign-store.ts';
import { type CampaignDeps, planPage } from './recipient-plan.ts';

/** Expand until done, or until the campaign stops running; answers whether it is fully expanded. */
export async function expandCampaign(deps: CampaignDeps, campaignId: string): Promise<boolean> {
  for (;;) {
    const step = await deps.db.transaction(async (tx) => {
      const row = await lockCampaign(tx, campaignId);
      if (row.state !== 'running' || row.expanded) return row.expanded ? 'done' : 'stopped';
      const spec = row.spec as CampaignSpec;
      const page = await audiencePage(tx, spec.audience, row.expandCursor, deps.pageSize);
      const plan = await planPage(
        { ...deps, db: tx as typeof deps.db },
        {
          id: row.id,
          spec,
          requestHash: row.requestHash,
          startedAt: row.startedAt,
          queuedCount: row.queuedCount,
        },
        page.userIds,
        false,
      );
      const stored = await storeNotifications({ db: tx as typeof deps.db, now: deps.now }, plan.items, false);
      // Not an item's own fault (the campaign built every item): a stop, rolled back with the page.
      const failed = stored.find((s) => s instanceof AppError);
      if (failed) throw failed;
      await saveExpansion(tx, row.id, {
        cursor: page.cursor,
        queued: plan.queued,
        unknown: plan.unknown,
        done: page.done,
      });
      return page.done ? 'done' : 'more';
    });
    if (step !== 'more') return step === 'done';
  }
}
