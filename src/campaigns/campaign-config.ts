import type { PriceTable } from '../channels/sms/cost.ts';
import type { Config } from '../config.ts';
import type { CreateNotificationDeps } from '../notifications/create-notification.ts';
import type { CampaignDeps } from './recipient-plan.ts';
import { parseSendWindow } from './send-window.ts';

/** The campaigns' settings from config, beside what creating a notification needs. */
export function campaignDeps(
  config: Config,
  notificationDeps: CreateNotificationDeps,
  prices: PriceTable,
  budget: { budget: number; currency: string } | undefined,
): CampaignDeps {
  return {
    ...notificationDeps,
    prices,
    smsWindow: parseSendWindow(config.CAMPAIGN_SMS_WINDOW),
    sendRate: config.CAMPAIGN_SEND_RATE,
    pageSize: config.CAMPAIGN_PAGE_SIZE,
    smsBudget: budget && { daily: budget.budget, currency: budget.currency },
  };
}
