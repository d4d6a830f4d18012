/**
 * A campaign's deliveries (issue 19, src/campaigns/), found by `details.campaign` through
 * deliveries_campaign_idx (migration 0030): hold them while the campaign is paused, read the held
 * ones back a page at a time to set their new due times on resume, and the figures by channel,
 * status and skip reason. No status changes here: a held row stays `queued`, with a due time that
 * never comes, and cancelling goes through cancel-deliveries.ts.
 */
import { sql } from 'drizzle-orm';
import { type Queryable, queryRows } from '../db/database.ts';

/** A held row's due time: later than any claim's now, so the claim never takes it. */
const HELD = 'infinity';

const ofCampaign = (id: string) => sql`(d.details->>'campaign') = ${id}`;
/** The keyword of an opt-out reply (channels/sms/sms-keywords.ts), passed as a value: not an error code. */
const OPT_OUT_KEYWORD = 'STOP';

/** Hold every queued delivery of the campaign (pause); answers how many. */
export async function holdCampaignDeliveries(q: Queryable, campaignId: string): Promise<number> {
  const rows = await queryRows<{ n: number }>(
    q,
    sql`with held as (
      update deliveries d set next_attempt_at = ${HELD}::timestamptz, updated_at = now()
      where ${ofCampaign(campaignId)} and d.status = 'queued'
      returning 1
    ) select count(*)::int as n from held`,
  );
  return rows[0]!.n;
}

export interface HeldDelivery {
  id: number;
  channel: string;
  externalUserId: string;
}

/** The held deliveries after `afterId`, in id order (the order they were queued in). */
export async function heldCampaignDeliveries(
  q: Queryable,
  campaignId: string,
  afterId: number,
  limit: number,
): Promise<HeldDelivery[]> {
  const rows = await queryRows<{ id: string; channel: string; external_id: string }>(
    q,
    sql`select d.id, d.channel, u.external_id
        from deliveries d join notifications n on n.id = d.notification_id join users u on u.id = n.user_id
        where ${ofCampaign(campaignId)} and d.status = 'queued' and d.next_attempt_at = ${HELD}::timestamptz
          and d.id > ${afterId}
        order by d.id limit ${limit}`,
  );
  return rows.map((r) => ({ id: Number(r.id), channel: r.channel, externalUserId: r.external_id }));
}

/** New due times for held deliveries (resume); a row no longer queued is left alone. */
export async function releaseHeldDeliveries(
  q: Queryable,
  due: ReadonlyArray<{ id: number; at: Date }>,
): Promise<void> {
  if (due.length === 0) return;
  const payload = JSON.stringify(due.map((d) => ({ id: d.id, at: d.at.toISOString() })));
  await q.execute(
    sql`update deliveries d set next_attempt_at = v.at, updated_at = now()
        from jsonb_to_recordset(${payload}::jsonb) as v(id bigint, at timestamptz)
        where d.id = v.id and d.status = 'queued'`,
  );
}

export interface CampaignDeliveryGroup {
  channel: string;
  status: string;
  skipReason: string | null;
  count: number;
  /** SMS segments of the sent ones (details.segments, as the SMS channel counted them). */
  segments: number;
  costCurrency: string | null;
  cost: number;
}

/** The campaign's deliveries counted by channel, status, skip reason and cost currency. */
export async function campaignDeliveryGroups(
  q: Queryable,
  campaignId: string,
): Promise<CampaignDeliveryGroup[]> {
  const rows = await queryRows<{
    channel: string;
    status: string;
    skip_reason: string | null;
    n: number;
    segments: number;
    cost_currency: string | null;
    cost: string | number;
  }>(
    q,
    sql`select d.channel, d.status, d.skip_reason, count(*)::int as n,
               coalesce(sum((d.details->>'segments')::int), 0)::int as segments,
               d.cost_currency, coalesce(sum(d.cost_amount), 0) as cost
        from deliveries d where ${ofCampaign(campaignId)}
        group by d.channel, d.status, d.skip_reason, d.cost_currency`,
  );
  return rows.map((r) => ({
    channel: r.channel,
    status: r.status,
    skipReason: r.skip_reason,
    count: r.n,
    segments: r.segments,
    costCurrency: r.cost_currency,
    cost: Number(r.cost),
  }));
}

/** The users who replied STOP to one of the campaign's SMS (inbound_sms links a reply to its SMS). */
export async function campaignOptOuts(q: Queryable, campaignId: string): Promise<number> {
  const rows = await queryRows<{ n: number }>(
    q,
    sql`select count(distinct i.user_id)::int as n
        from inbound_sms i
        where i.keyword = ${OPT_OUT_KEYWORD} and i.notification_id in (
          select d.notification_id from deliveries d where ${ofCampaign(campaignId)} and d.channel = 'sms')`,
  );
  return rows[0]!.n;
}

/**
 * Clicks on the tracked links of the campaign's messages by people: a link preview or crawler
 * (client class `bot`, links/link-store.ts) fetches a link without anyone reading it.
 */
export async function campaignClicks(q: Queryable, campaignId: string): Promise<number> {
  const rows = await queryRows<{ n: number }>(
    q,
    sql`select count(*)::int as n from link_clicks c
        where c.client_class <> 'bot' and c.delivery_id in (select d.id from deliveries d where ${ofCampaign(campaignId)})`,
  );
  return rows[0]!.n;
}

/** Whether any of the campaign's deliveries is still to be sent or being sent. */
export async function campaignHasPending(q: Queryable, campaignId: string): Promise<boolean> {
  const rows = await queryRows<{ pending: boolean }>(
    q,
    sql`select exists (select 1 from deliveries d
                       where ${ofCampaign(campaignId)} and d.status in ('queued', 'sending')) as pending`,
  );
  return rows[0]!.pending;
}
