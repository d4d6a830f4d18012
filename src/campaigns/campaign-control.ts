/**
 * What the API and the CLI do to a campaign: create it (checked, idempotent by id), start it (now,
 * at a time, or at a local time per recipient), pause, resume, cancel. Each change is one
 * transaction on the campaign's locked row, with what it does to the queue in the same transaction:
 * a pause holds its queued deliveries, a resume gives them new due times, a cancel cancels them
 * (cancel-deliveries.ts), so nothing queued when a cancel commits is ever sent.
 */
import type { LintWarning } from '../authoring/lint.ts';
import {
  heldCampaignDeliveries,
  holdCampaignDeliveries,
  releaseHeldDeliveries,
} from '../deliveries/campaign-deliveries.ts';
import { cancelDeliveries } from '../deliveries/cancel-deliveries.ts';
import { loadRecipients } from '../notifications/recipient.ts';
import { checkCampaignContent } from './campaign-content.ts';
import type { CampaignSpec } from './campaign-spec.ts';
import { type CampaignRow, insertCampaign, lockCampaign, moveCampaign } from './campaign-store.ts';
import { type CampaignDeps, campaignCancelKey } from './recipient-plan.ts';
import { campaignDueAt } from './send-window.ts';

const nowOf = (deps: CampaignDeps) => deps.now?.() ?? new Date();

export interface CreatedCampaign {
  campaign: CampaignRow;
  created: boolean;
  warnings: LintWarning[];
}

/** Check and store a campaign (a draft); with a schedule it is started at once. */
export async function createCampaign(
  deps: CampaignDeps,
  spec: CampaignSpec,
  createdBy: string,
): Promise<CreatedCampaign> {
  const warnings = await checkCampaignContent(spec);
  const { campaign, created } = await insertCampaign(deps.db, spec, createdBy);
  if (!created) return { campaign, created, warnings };
  await deps.templates.reload(deps.db);
  const started = spec.schedule ? await startCampaign(deps, spec.id) : campaign;
  return { campaign: started, created, warnings };
}

/** draft → running (now, or a local time per recipient), or → scheduled (an instant still ahead). */
export async function startCampaign(deps: CampaignDeps, id: string): Promise<CampaignRow> {
  const now = nowOf(deps);
  return deps.db.transaction(async (tx) => {
    const row = await lockCampaign(tx, id);
    const schedule = (row.spec as CampaignSpec).schedule ?? 'now';
    const at = typeof schedule === 'object' && 'at' in schedule ? new Date(schedule.at) : null;
    if (at && at > now) return moveCampaign(tx, row, 'schedule', { startAt: at });
    return moveCampaign(tx, row, 'start', { startAt: at ?? now, startedAt: at ?? now });
  });
}

/** Holds every queued delivery and stops the expansion until a resume. */
export async function pauseCampaign(deps: CampaignDeps, id: string): Promise<CampaignRow> {
  return deps.db.transaction(async (tx) => {
    const moved = await moveCampaign(tx, await lockCampaign(tx, id), 'pause');
    await holdCampaignDeliveries(tx, id);
    return moved;
  });
}

/**
 * Back to running: the held deliveries are paced again from now, in the order they were queued,
 * each still waiting for its promotional window and quiet hours; the expansion goes on.
 */
export async function resumeCampaign(deps: CampaignDeps, id: string): Promise<CampaignRow> {
  const now = nowOf(deps);
  return deps.db.transaction(async (tx) => {
    const row = await lockCampaign(tx, id);
    const moved = await moveCampaign(tx, row, 'resume', { startedAt: row.startedAt ?? now });
    let place = 0;
    for (let after = 0; ; ) {
      const held = await heldCampaignDeliveries(tx, id, after, deps.pageSize);
      if (held.length === 0) break;
      const recipients = await loadRecipients(
        tx,
        held.map((h) => h.externalUserId),
        deps.policy?.defaultQuietHours ?? null,
      );
      const due = held.map((h) => {
        const r = recipients.get(h.externalUserId);
        const earliest = new Date(now.getTime() + Math.floor((place++ * 1000) / deps.sendRate));
        if (!r) return { id: h.id, at: earliest };
        return {
          id: h.id,
          at: campaignDueAt({
            channel: h.channel as 'sms' | 'email',
            earliest,
            timeZone: r.user.timeZone,
            quietHours: r.quietHours,
            smsWindow: deps.smsWindow,
          }),
        };
      });
      await releaseHeldDeliveries(tx, due);
      after = held.at(-1)!.id;
    }
    return moved;
  });
}

/** Cancelled, with every delivery still queued cancelled in the same transaction. */
export async function cancelCampaign(
  deps: CampaignDeps,
  id: string,
): Promise<{ campaign: CampaignRow; cancelled: number }> {
  const now = nowOf(deps);
  return deps.db.transaction(async (tx) => {
    const campaign = await moveCampaign(tx, await lockCampaign(tx, id), 'cancel', { finishedAt: now });
    const fates = await cancelDeliveries(
      tx,
      { cancelKey: campaignCancelKey(id) },
      `campaign ${id} cancelled`,
    );
    return { campaign, cancelled: fates.filter((f) => f.cancelled).length };
  });
}
