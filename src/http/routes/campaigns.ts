import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  cancelCampaign,
  createCampaign,
  pauseCampaign,
  resumeCampaign,
  startCampaign,
} from '../../campaigns/campaign-control.ts';
import { campaignFigures } from '../../campaigns/campaign-figures.ts';
import { type CampaignSpec, campaignSpec, channelsOf } from '../../campaigns/campaign-spec.ts';
import { type CampaignRow, listCampaigns, requireCampaign } from '../../campaigns/campaign-store.ts';
import { estimateCampaign } from '../../campaigns/estimate.ts';
import type { CampaignDeps } from '../../campaigns/recipient-plan.ts';
import { CAMPAIGN_STATES } from '../../db/schema.ts';
import { requireApiKey } from '../auth.ts';

export interface CampaignRouteDeps {
  campaigns: CampaignDeps;
  /** Runs the campaign pass at once (a start should not wait for the next poll). */
  wake(): void;
  /** A campaign body can list 100,000 users: the batch routes' limit, not the default one. */
  bodyLimit: number;
}

const tags = ['campaigns'];
const idParams = z.object({ id: z.string().min(1).max(64).describe("The campaign's id (the client's)") });
const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: z.iso.datetime({ offset: true }).optional().describe("The previous page's next_before"),
  state: z.enum(CAMPAIGN_STATES).optional(),
});

/** What the API shows of a campaign: its settings and state, not its audience list or templates. */
export function campaignView(row: CampaignRow) {
  const spec = row.spec as CampaignSpec;
  return {
    id: row.id,
    name: row.name,
    state: row.state,
    channels: channelsOf(spec),
    audience:
      'user_ids' in spec.audience
        ? { user_ids: spec.audience.user_ids.length }
        : { filter: spec.audience.filter },
    schedule: spec.schedule ?? null,
    start_at: row.startAt?.toISOString() ?? null,
    started_at: row.startedAt?.toISOString() ?? null,
    finished_at: row.finishedAt?.toISOString() ?? null,
    expanded: row.expanded,
    created_by: row.createdBy,
    created_at: row.createdAt.toISOString(),
  };
}

/**
 * Campaigns (docs/campaigns.md): create (idempotent by id), estimate, start, pause, resume, cancel,
 * figures. Writing needs a service or admin key; a viewer key reads.
 */
export function registerCampaignRoutes(app: FastifyInstance, deps: CampaignRouteDeps): void {
  const { campaigns } = deps;
  const db = campaigns.db;
  const r = app.withTypeProvider<ZodTypeProvider>();
  const write = requireApiKey(db, ['service']);
  const read = requireApiKey(db, ['service', 'viewer']);
  const base = '/api/v1/campaigns';
  r.post(
    base,
    {
      schema: {
        tags,
        summary: 'Create a campaign (a retry with the same id and body answers the first)',
        body: campaignSpec,
      },
      bodyLimit: deps.bodyLimit,
      onRequest: write,
    },
    async (request, reply) => {
      const created = await createCampaign(campaigns, request.body, request.apiKey!.name);
      if (created.campaign.state !== 'draft') deps.wake();
      return reply
        .code(created.created ? 201 : 200)
        .send({ campaign: campaignView(created.campaign), warnings: created.warnings });
    },
  );
  r.get(
    base,
    { schema: { tags, summary: 'List campaigns, newest first', querystring: listQuery }, onRequest: read },
    async (request) => {
      const q = request.query;
      const rows = await listCampaigns(db, {
        limit: q.limit,
        before: q.before ? new Date(q.before) : undefined,
        state: q.state,
      });
      return {
        campaigns: rows.map(campaignView),
        next_before: rows.length === q.limit ? rows.at(-1)!.createdAt.toISOString() : null,
      };
    },
  );
  r.get(
    `${base}/:id`,
    { schema: { tags, summary: 'One campaign', params: idParams }, onRequest: read },
    async (request) => ({ campaign: campaignView(await requireCampaign(db, request.params.id)) }),
  );
  r.get(
    `${base}/:id/figures`,
    { schema: { tags, summary: "A campaign's live figures", params: idParams }, onRequest: read },
    async (request) => ({ figures: await campaignFigures(db, await requireCampaign(db, request.params.id)) }),
  );
  r.post(
    `${base}/:id/estimate`,
    {
      schema: { tags, summary: 'Dry run: audience, skips, SMS segments and cost, budget', params: idParams },
      onRequest: write,
    },
    async (request) => {
      const row = await requireCampaign(db, request.params.id);
      const estimate = await estimateCampaign(campaigns, {
        id: row.id,
        spec: row.spec as CampaignSpec,
        requestHash: row.requestHash,
        startedAt: row.startedAt,
        queuedCount: 0,
      });
      return { estimate };
    },
  );
  const action = (path: string, summary: string, run: (id: string) => Promise<CampaignRow>, wakes: boolean) =>
    r.post(
      `${base}/:id/${path}`,
      { schema: { tags, summary, params: idParams }, onRequest: write },
      async (request) => {
        const row = await run(request.params.id);
        if (wakes) deps.wake();
        return { campaign: campaignView(row) };
      },
    );
  action(
    'start',
    'Start a draft campaign by its schedule (none: now)',
    (id) => startCampaign(campaigns, id),
    true,
  );
  action('pause', 'Pause: its queued messages wait', (id) => pauseCampaign(campaigns, id), false);
  action('resume', 'Resume a paused campaign', (id) => resumeCampaign(campaigns, id), true);
  action(
    'cancel',
    'Cancel: nothing still queued is sent',
    async (id) => (await cancelCampaign(campaigns, id)).campaign,
    false,
  );
}
