/**
 * The global daily SMS budget: estimated spend (deliveries.cost_amount) per UTC day against
 * SMS_DAILY_BUDGET, with an alert logged and recorded once when 80 % and 100 % are crossed. Several
 * workers may check at once: the alert table's primary key lets exactly one of them raise each alert.
 */
import { desc, eq } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { smsBudgetAlerts } from '../db/schema.ts';
import { smsSpentOn } from '../deliveries/read-deliveries.ts';

export const BUDGET_THRESHOLDS = [80, 100] as const;

/** Thresholds (percent) that `spent` has reached (pure). */
export function thresholdsReached(spent: number, budget: number): number[] {
  return BUDGET_THRESHOLDS.filter((pct) => spent >= (budget * pct) / 100);
}

export interface BudgetSettings {
  budget: number;
  currency: string;
}

export interface BudgetStatus {
  day: string;
  spent: number;
  budget: number;
  currency: string;
  percent: number;
  alerts: Array<{ threshold: number; spent: number; at: string }>;
}

interface WarnLogger {
  warn(obj: object, msg: string): void;
}

function utcDay(now: Date): string {
  return now.toISOString().slice(0, 10);
}

/** Today's spend and the alerts raised so far (the stats). */
export async function budgetStatus(
  db: Db,
  settings: BudgetSettings,
  now = new Date(),
): Promise<BudgetStatus> {
  const day = utcDay(now);
  const spent = await smsSpentOn(db, day, settings.currency);
  const alerts = await db
    .select()
    .from(smsBudgetAlerts)
    .where(eq(smsBudgetAlerts.day, day))
    .orderBy(desc(smsBudgetAlerts.threshold));
  return {
    day,
    spent,
    budget: settings.budget,
    currency: settings.currency,
    percent: Math.round((spent / settings.budget) * 1000) / 10,
    alerts: alerts.map((a) => ({
      threshold: a.threshold,
      spent: Number(a.spent),
      at: a.createdAt.toISOString(),
    })),
  };
}

/** Raise the alerts newly due today; returns the thresholds this call raised. */
export async function checkSmsBudget(
  db: Db,
  settings: BudgetSettings,
  logger: WarnLogger,
  now = new Date(),
): Promise<number[]> {
  const day = utcDay(now);
  const spent = await smsSpentOn(db, day, settings.currency);
  const raised: number[] = [];
  for (const threshold of thresholdsReached(spent, settings.budget)) {
    const inserted = await db
      .insert(smsBudgetAlerts)
      .values({
        day,
        threshold,
        spent: String(spent),
        budget: String(settings.budget),
        currency: settings.currency,
      })
      .onConflictDoNothing()
      .returning({ threshold: smsBudgetAlerts.threshold });
    if (inserted.length === 0) continue;
    raised.push(threshold);
    logger.warn(
      { alert: 'sms_budget', threshold, spent, budget: settings.budget, currency: settings.currency, day },
      `SMS spend reached ${threshold}% of the daily budget`,
    );
  }
  return raised;
}

/** Checks the budget every `intervalMs` in worker processes; returns the stop function. */
export function startBudgetMonitor(
  db: Db,
  settings: BudgetSettings,
  logger: WarnLogger,
  intervalMs = 10_000,
): () => Promise<void> {
  const timer = setInterval(() => {
    checkSmsBudget(db, settings, logger).catch((err: Error) =>
      logger.warn({ err }, 'SMS budget check failed; will retry'),
    );
  }, intervalMs);
  timer.unref();
  return async () => clearInterval(timer);
}
