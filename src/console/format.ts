import type { ChannelName } from '../catalog/catalog.ts';

/**
 * How the console writes figures: display only, never arithmetic on them (that is the stats
 * module's). One place, so a rate or an amount reads the same on every page.
 */

export const CHANNEL_LABELS: Record<ChannelName, string> = {
  in_app: 'In-app',
  sms: 'SMS',
  email: 'Email',
  push: 'Push',
};

const integer = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });

export function formatCount(n: number): string {
  return integer.format(n);
}

/** A rate of 0..1 as a percentage with one decimal; "—" when there is none (nothing ended yet). */
export function formatRate(rate: number | null): string {
  return rate === null ? '—' : `${(rate * 100).toFixed(1)} %`;
}

/** Money to the database's 5 decimals, trailing zeros dropped, with its currency when known. */
export function formatMoney(amount: number | null, currency: string | null): string {
  if (amount === null) return '—';
  const n = new Intl.NumberFormat('en', { minimumFractionDigits: 2, maximumFractionDigits: 5 }).format(
    amount,
  );
  return currency ? `${n} ${currency}` : n;
}

/** An age in ms as the largest two units ("3 min 20 s", "2 h 5 min"); "—" when there is none. */
export function formatAge(ms: number | null): string {
  if (ms === null) return '—';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}
