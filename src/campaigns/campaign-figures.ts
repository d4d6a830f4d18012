/**
 * A campaign's live figures, read from its deliveries (never from counters kept beside them, so they
 * cannot drift and a resumed expansion counts nothing twice): per channel targeted and skipped by
 * reason (the estimate's shape, campaign-tally.ts), then where its messages are — queued, sending,
 * sent, delivered, failed, cancelled — their cost, the STOP replies they caused, and the progress
 * of the expansion, the clicks on its tracked links. Each part is one read; a later part (a
 * variant's split) adds its own read and field here.
 */
import type { Queryable } from '../db/database.ts';
import {
  campaignClicks,
  campaignDeliveryGroups,
  campaignOptOuts,
} from '../deliveries/campaign-deliveries.ts';
import { type CampaignSpec, channelsOf } from './campaign-spec.ts';
import type { CampaignRow } from './campaign-store.ts';
import { addCost, type CostLine, countDeliveries, emptyTally, type Tally } from './campaign-tally.ts';

const STATUSES = ['queued', 'sending', 'sent', 'delivered', 'failed', 'cancelled'] as const;
type Progress = Record<(typeof STATUSES)[number], number>;

export interface CampaignFigures {
  campaign_id: string;
  state: string;
  expanded: boolean;
  /** Recipients stored so far (users with at least one delivery, targeted or skipped). */
  recipients: number;
  unknown_users: number;
  channels: Tally;
  /** Per channel, where the targeted messages are now. */
  progress: Record<string, Progress>;
  sms: { segments: number };
  cost: CostLine[];
  /** Users who replied STOP to one of its SMS. */
  opt_outs: number;
  /** Clicks on its tracked links by people (link previews and crawlers left out). */
  clicks: number;
}

export async function campaignFigures(q: Queryable, row: CampaignRow): Promise<CampaignFigures> {
  const channels = channelsOf(row.spec as CampaignSpec);
  const tally = emptyTally(channels);
  const progress: Record<string, Progress> = Object.fromEntries(
    channels.map((c) => [c, Object.fromEntries(STATUSES.map((s) => [s, 0])) as Progress]),
  );
  const cost: CostLine[] = [];
  let segments = 0;
  const perChannel = new Map<string, number>();
  for (const g of await campaignDeliveryGroups(q, row.id)) {
    countDeliveries(tally, g.channel, g.skipReason, g.count);
    perChannel.set(g.channel, (perChannel.get(g.channel) ?? 0) + g.count);
    const p = progress[g.channel];
    if (p) {
      if (g.status === 'skipped') {
        if (g.skipReason === 'cancelled') p.cancelled += g.count;
      } else if (g.status in p) p[g.status as keyof Progress] += g.count;
    }
    if (g.channel === 'sms') segments += g.segments;
    if (g.costCurrency) addCost(cost, g.costCurrency, g.cost);
  }
  return {
    campaign_id: row.id,
    state: row.state,
    expanded: row.expanded,
    // Every recipient has one delivery per campaign channel: any channel's count is theirs.
    recipients: Math.max(0, ...perChannel.values()),
    unknown_users: row.unknownUsers,
    channels: tally,
    progress,
    sms: { segments },
    cost,
    opt_outs: await campaignOptOuts(q, row.id),
    clicks: await campaignClicks(q, row.id),
  };
}
