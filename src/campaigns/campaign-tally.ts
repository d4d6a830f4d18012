/**
 * The shape both the estimate and the live figures count in, so the two compare field by field:
 * per channel, how many were targeted (got a message to send) and how many were skipped, by reason.
 */
import type { CampaignChannel } from './campaign-spec.ts';

export interface ChannelTally {
  targeted: number;
  skipped: Record<string, number>;
}

export type Tally = Partial<Record<CampaignChannel, ChannelTally>>;

export interface CostLine {
  currency: string;
  amount: number;
}

export function emptyTally(channels: readonly CampaignChannel[]): Tally {
  return Object.fromEntries(channels.map((c) => [c, { targeted: 0, skipped: {} }]));
}

/**
 * Count `n` deliveries of `channel`: a skip reason counts them as skipped for it, none as targeted.
 * A delivery cancelled with its campaign was targeted: the cancel is the campaign's, not a skip.
 */
export function countDeliveries(tally: Tally, channel: string, skipReason: string | null, n: number): void {
  const t = tally[channel as CampaignChannel];
  if (!t) return;
  if (skipReason === null || skipReason === 'cancelled') t.targeted += n;
  else t.skipped[skipReason] = (t.skipped[skipReason] ?? 0) + n;
}

/** Sums by currency, rounded to micro-units as the per-message estimates are. */
export function addCost(lines: CostLine[], currency: string, amount: number): void {
  const line = lines.find((l) => l.currency === currency);
  if (line) line.amount = Math.round((line.amount + amount) * 1e6) / 1e6;
  else lines.push({ currency, amount: Math.round(amount * 1e6) / 1e6 });
}
