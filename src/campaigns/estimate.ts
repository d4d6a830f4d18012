/**
 * The dry run: the campaign's audience walked and planned page by page exactly as the expansion
 * will (recipient-plan.ts), nothing stored. Per channel who would be targeted and who skipped and
 * why, every SMS rendered and priced as the SMS channel will (segments, cost per country), and a
 * warning when the SMS would spend more than what is left of today's SMS budget.
 */
import { smsSpentOn } from '../deliveries/read-deliveries.ts';
import { audiencePage } from './audience.ts';
import { channelsOf } from './campaign-spec.ts';
import { addCost, type CostLine, countDeliveries, emptyTally, type Tally } from './campaign-tally.ts';
import type { CampaignDeps, PlannedCampaign } from './recipient-plan.ts';
import { planPage } from './recipient-plan.ts';

export interface CountryCost {
  country: string;
  currency: string;
  messages: number;
  segments: number;
  amount: number;
}

export interface CampaignEstimate {
  audience: number;
  unknown_users: number;
  channels: Tally;
  sms: { messages: number; segments: number; cost: CostLine[]; by_country: CountryCost[] };
  budget: {
    daily: number;
    currency: string;
    spent_today: number;
    estimated: number;
    exceeds: boolean;
  } | null;
  warnings: string[];
}

export async function estimateCampaign(
  deps: CampaignDeps,
  campaign: PlannedCampaign,
): Promise<CampaignEstimate> {
  const spec = campaign.spec;
  const tally = emptyTally(channelsOf(spec));
  const countries = new Map<string, CountryCost>();
  const cost: CostLine[] = [];
  let audience = 0;
  let unknown = 0;
  let queuedSoFar = campaign.queuedCount;
  let cursor: number | null = null;
  for (;;) {
    const page = await audiencePage(deps.db, spec.audience, cursor, deps.pageSize);
    const plan = await planPage(deps, { ...campaign, queuedCount: queuedSoFar }, page.userIds, true);
    queuedSoFar += plan.queued;
    audience += page.userIds.length;
    unknown += plan.unknown;
    for (const item of plan.items) {
      for (const d of item.deliveries) countDeliveries(tally, d.channel, d.skipReason, 1);
    }
    for (const sms of plan.sms) {
      const key = `${sms.country ?? 'unknown'} ${sms.currency}`;
      const c = countries.get(key) ?? {
        country: sms.country ?? 'unknown',
        currency: sms.currency,
        messages: 0,
        segments: 0,
        amount: 0,
      };
      c.messages++;
      c.segments += sms.segments;
      c.amount = Math.round((c.amount + sms.amount) * 1e6) / 1e6;
      countries.set(key, c);
      addCost(cost, sms.currency, sms.amount);
    }
    if (page.done) break;
    cursor = page.cursor;
  }
  const byCountry = [...countries.values()].sort((a, b) => b.amount - a.amount);
  const messages = byCountry.reduce((n, c) => n + c.messages, 0);
  const segments = byCountry.reduce((n, c) => n + c.segments, 0);
  const budget = await budgetCheck(deps, cost);
  const warnings: string[] = [];
  if (budget?.exceeds) {
    warnings.push(
      `The SMS would cost ${budget.estimated} ${budget.currency}, more than the ${
        Math.round((budget.daily - budget.spent_today) * 1e6) / 1e6
      } ${budget.currency} left of today's SMS budget (SMS_DAILY_BUDGET ${budget.daily})`,
    );
  }
  if (unknown > 0) warnings.push(`${unknown} listed user id(s) match no user`);
  return {
    audience,
    unknown_users: unknown,
    channels: tally,
    sms: { messages, segments, cost, by_country: byCountry },
    budget,
    warnings,
  };
}

async function budgetCheck(deps: CampaignDeps, cost: CostLine[]): Promise<CampaignEstimate['budget']> {
  const b = deps.smsBudget;
  if (!b) return null;
  const day = (deps.now?.() ?? new Date()).toISOString().slice(0, 10);
  const spent = await smsSpentOn(deps.db, day, b.currency);
  const estimated = cost.find((c) => c.currency === b.currency)?.amount ?? 0;
  return {
    daily: b.daily,
    currency: b.currency,
    spent_today: spent,
    estimated,
    exceeds: spent + estimated > b.daily,
  };
}
