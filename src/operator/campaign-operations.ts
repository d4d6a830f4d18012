/**
 * The `campaigns` command's operations (docs/campaigns.md), run by the CLI itself or inside a
 * running serve (its campaign parts, whose pass a start or resume wakes at once).
 */
import { z } from 'zod';
import {
  cancelCampaign,
  createCampaign,
  pauseCampaign,
  resumeCampaign,
  startCampaign,
} from '../campaigns/campaign-control.ts';
import { type CampaignFigures, campaignFigures } from '../campaigns/campaign-figures.ts';
import { type CampaignSpec, campaignSpec } from '../campaigns/campaign-spec.ts';
import { type CampaignRow, listCampaigns, requireCampaign } from '../campaigns/campaign-store.ts';
import { estimateCampaign } from '../campaigns/estimate.ts';
import { AppError } from '../errors.ts';
import { OperationRefused, type OperatorContext } from './context.ts';

const campaignId = z.strictObject({ id: z.string().min(1).max(64) });
const ACTIONS = ['start', 'pause', 'resume', 'cancel'] as const;

/** What the command prints of a campaign. */
function summary(row: CampaignRow) {
  return { id: row.id, name: row.name, state: row.state, expanded: row.expanded };
}

/** A campaign's own error (unknown id, wrong state, bad content) is the command's refusal. */
async function refusing<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof AppError) throw new OperationRefused(`${err.code}: ${err.message}`);
    throw err;
  }
}

export const createOp = {
  input: z.strictObject({ spec: z.unknown() }),
  run: (ctx: OperatorContext, input: { spec: unknown }) =>
    refusing(async () => {
      const parsed = campaignSpec.safeParse(input.spec);
      if (!parsed.success) {
        throw new OperationRefused(
          parsed.error.issues.map((i) => `${i.path.join('.') || 'campaign'}: ${i.message}`).join('; '),
        );
      }
      const campaigns = await ctx.campaigns();
      const created = await createCampaign(campaigns.deps, parsed.data, 'cli');
      if (created.campaign.state !== 'draft') campaigns.wake();
      return { campaign: summary(created.campaign), created: created.created, warnings: created.warnings };
    }),
};

export const estimateOp = {
  input: campaignId,
  run: (ctx: OperatorContext, { id }: { id: string }) =>
    refusing(async () => {
      const { deps } = await ctx.campaigns();
      const row = await requireCampaign(deps.db, id);
      return estimateCampaign(deps, {
        id,
        spec: row.spec as CampaignSpec,
        requestHash: row.requestHash,
        startedAt: row.startedAt,
        queuedCount: 0,
      });
    }),
};

export const actionOp = {
  input: z.strictObject({ id: z.string().min(1).max(64), action: z.enum(ACTIONS) }),
  run: (ctx: OperatorContext, { id, action }: { id: string; action: (typeof ACTIONS)[number] }) =>
    refusing(async () => {
      const campaigns = await ctx.campaigns();
      const { deps } = campaigns;
      const row =
        action === 'start'
          ? await startCampaign(deps, id)
          : action === 'pause'
            ? await pauseCampaign(deps, id)
            : action === 'resume'
              ? await resumeCampaign(deps, id)
              : (await cancelCampaign(deps, id)).campaign;
      if (action === 'start' || action === 'resume') campaigns.wake();
      return summary(row);
    }),
};

export const statusOp = {
  input: campaignId,
  run: (ctx: OperatorContext, { id }: { id: string }): Promise<CampaignFigures> =>
    refusing(async () => {
      const db = await ctx.db();
      return campaignFigures(db, await requireCampaign(db, id));
    }),
};

export const listOp = {
  input: z.strictObject({}),
  run: async (ctx: OperatorContext) => ({
    campaigns: (await listCampaigns(await ctx.db(), { limit: 100 })).map(summary),
  }),
};
