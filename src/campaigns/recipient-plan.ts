/**
 * One page of a campaign's audience decided: for each user, each campaign channel queued or skipped
 * and why — by the same decision as any notification (decideDeliveries: the `promotions` opt-in per
 * channel, the address, the SMS cap), with the campaign's due times (send-window.ts: paced by the
 * send rate, the promotional SMS window, quiet hours). The estimate and the expansion both plan
 * through here, so the dry run's figures are what is then stored and sent.
 */
import { randomBytes } from 'node:crypto';
import { type NotificationTypeDef, requireNotificationType } from '../catalog/catalog.ts';
import { CAMPAIGN_NOTIFICATION_TYPE, campaignTemplateType } from '../channels/channel.ts';
import type { PriceTable } from '../channels/sms/cost.ts';
import { composeSms } from '../channels/sms/sms-composer.ts';
import { countSmsSinceEach } from '../deliveries/read-deliveries.ts';
import type { CreateNotificationDeps, PreparedNotification } from '../notifications/create-notification.ts';
import { decideDeliveries, wantsSms } from '../notifications/decide-notification.ts';
import { loadRecipients, type Recipient } from '../notifications/recipient.ts';
import { smsCapCounted } from '../preferences/delivery-policy.ts';
import type { QuietWindow } from '../preferences/quiet-hours.ts';
import { capPeriodStarts } from '../preferences/sms-caps.ts';
import { localDateTimeInstant } from '../time-zone.ts';
import { campaignContext } from './campaign-content.ts';
import { type CampaignSpec, channelsOf } from './campaign-spec.ts';
import { campaignDueAt } from './send-window.ts';

export interface CampaignDeps extends CreateNotificationDeps {
  prices: PriceTable;
  /** CAMPAIGN_SMS_WINDOW: promotional SMS go only inside it, recipient-local. */
  smsWindow: QuietWindow;
  /** CAMPAIGN_SEND_RATE: campaign deliveries falling due a second. */
  sendRate: number;
  pageSize: number;
  /** SMS_DAILY_BUDGET, for the estimate's warning. */
  smsBudget?: { daily: number; currency: string } | undefined;
}

/** What the plan needs of a campaign: its body, when it started, how many it queued before. */
export interface PlannedCampaign {
  id: string;
  spec: CampaignSpec;
  requestHash: string;
  startedAt: Date | null;
  queuedCount: number;
}

export type CampaignItem = Extract<PreparedNotification, { kind: 'new' }>;

export interface PlannedSms {
  country: string | undefined;
  currency: string;
  amount: number;
  segments: number;
}

export interface PagePlan {
  items: CampaignItem[];
  /** Listed ids with no such user. */
  unknown: number;
  /** Deliveries queued by the page (the send rate's count goes on from here). */
  queued: number;
  /** Each queued SMS priced (only when asked: the estimate). */
  sms: PlannedSms[];
}

/** The key that cancels every waiting message of the campaign (cancel-deliveries.ts). */
export function campaignCancelKey(campaignId: string): string {
  return `campaign:${campaignId}`;
}

/** The catalog's promotional type, sent at regular priority on the campaign's channels only. */
function campaignDef(spec: CampaignSpec): NotificationTypeDef {
  return {
    ...requireNotificationType(CAMPAIGN_NOTIFICATION_TYPE),
    priority: 'regular',
    channels: channelsOf(spec),
  };
}

/** When a recipient's messages may start: the campaign's start, or its local time in their zone. */
function recipientStart(campaign: PlannedCampaign, timeZone: string, now: Date): Date {
  const schedule = campaign.spec.schedule;
  const started =
    campaign.startedAt ??
    (schedule && typeof schedule === 'object' && 'at' in schedule ? new Date(schedule.at) : now);
  if (schedule && typeof schedule === 'object' && 'local' in schedule) {
    const local = localDateTimeInstant(schedule.local, timeZone);
    if (local && local > started) return local;
  }
  return started;
}

export async function planPage(
  deps: CampaignDeps,
  campaign: PlannedCampaign,
  userIds: readonly string[],
  priced: boolean,
): Promise<PagePlan> {
  const now = deps.now?.() ?? new Date();
  const def = campaignDef(campaign.spec);
  const recipients = await loadRecipients(deps.db, userIds, deps.policy?.defaultQuietHours ?? null);
  const smsSent = await countCapped(deps, def, [...recipients.values()], now);
  const context = campaignContext(campaign.spec);
  const plan: PagePlan = { items: [], unknown: 0, queued: 0, sms: [] };
  for (const userId of userIds) {
    const r = recipients.get(userId);
    if (!r) {
      plan.unknown++;
      continue;
    }
    const start = recipientStart(campaign, r.user.timeZone, now);
    const decided = decideDeliveries(deps, def, r, def.channels, smsSent.get(r.user.id), start);
    const deliveries = decided.map((d) => {
      const details = { campaign: campaign.id };
      if (d.status !== 'queued') return { ...d, details };
      const place = campaign.queuedCount + plan.queued++;
      const earliest = new Date(start.getTime() + Math.floor((place * 1000) / deps.sendRate));
      const due = campaignDueAt({
        channel: d.channel,
        earliest,
        timeZone: r.user.timeZone,
        quietHours: r.quietHours,
        smsWindow: deps.smsWindow,
      });
      return { ...d, nextAttemptAt: due, details };
    });
    if (priced && deliveries.some((d) => d.channel === 'sms' && d.status === 'queued')) {
      const sms = await composeSms(deps.templates, deps.prices, {
        type: campaignTemplateType(campaign.id),
        to: r.user.phone!,
        user: r.user,
        context,
      });
      plan.sms.push({ ...sms.cost, segments: sms.segments });
    }
    plan.items.push({
      kind: 'new',
      externalUserId: r.user.externalId,
      notification: {
        notificationId: `ntf_${randomBytes(12).toString('base64url')}`,
        userId: r.user.id,
        type: def.name,
        category: def.category,
        priority: def.priority,
        title: campaign.spec.name,
        message: campaign.spec.name,
        context,
        sendAt: start > now ? start : null,
        cancelKey: campaignCancelKey(campaign.id),
        collapseKey: null,
      },
      deliveries,
      // One message per user and campaign, however often a page is planned again (a resumed expansion).
      idempotency: {
        scope: 'campaign',
        key: `${campaign.id}:${r.user.externalId}`,
        requestHash: campaign.requestHash,
      },
    });
  }
  return plan;
}

/** The SMS sent so far today and this month by the page's users whose SMS the caps count. */
async function countCapped(deps: CampaignDeps, def: NotificationTypeDef, recipients: Recipient[], now: Date) {
  // Per zone, not per user: the zone arithmetic (Intl) costs more than the rest of a decision.
  const periods = new Map<string, { day: Date; month: Date }>();
  const periodsOf = (zone: string) => {
    if (!periods.has(zone)) periods.set(zone, capPeriodStarts(now, zone));
    return periods.get(zone)!;
  };
  const counted = recipients
    .filter((r) => smsCapCounted(deps.policy, def.priority, wantsSms(def, r)))
    .map((r) => ({ userId: r.user.id, ...periodsOf(r.user.timeZone) }));
  return counted.length > 0 ? await countSmsSinceEach(deps.db, counted) : new Map();
}
