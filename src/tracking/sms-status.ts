import { classifyTwilioError, twilioErrorMessage } from '../channels/sms/twilio-errors.ts';
import { type Clock, systemClock } from '../clock.ts';
import type { AppliedStatus, ProviderStatusWriter } from '../deliveries/apply-provider-statuses.ts';

export interface SmsStatusReport {
  sid: string;
  status: string;
  /** Twilio's error code, an integer as its API types it. */
  errorCode: number | null;
  /** Twilio's text for it when the report carries one (a fetched message does, a callback not). */
  errorMessage?: string | null;
  price: string | null;
}

export interface SmsStatusDeps {
  /** Where the reports are written (group-committed). */
  writer: ProviderStatusWriter;
  /** How long after an async retryable failure (e.g. 30003) to try again. */
  retryDelayMs: number;
  /** The retry's due time is measured on it (default: the system clock). */
  clock?: Clock;
  onOptedOut: (userId: number, reason: string) => Promise<void>;
}

/**
 * Record what Twilio says about a message — from a status callback or from the sweep that asks
 * about messages whose callbacks never came — with the same rules either way: statuses never move
 * backwards, retryable async failures go back to the queue, 21610 turns the user's SMS off.
 */
export async function recordSmsStatus(
  report: SmsStatusReport,
  deps: SmsStatusDeps,
  via: string,
): Promise<AppliedStatus | undefined> {
  const failed = report.status === 'failed' || report.status === 'undelivered';
  const cls = failed && report.errorCode ? classifyTwilioError(report.errorCode) : null;
  const applied = await deps.writer.apply({
    providerMessageId: report.sid,
    providerStatus: report.status,
    errorCode: report.errorCode,
    errorMessage: report.errorCode ? twilioErrorMessage(report.errorCode, report.errorMessage) : null,
    price: report.price,
    retryAt: cls === 'retryable' ? new Date((deps.clock ?? systemClock).now() + deps.retryDelayMs) : null,
  });
  if (applied?.applied && cls === 'opted_out') {
    await deps.onOptedOut(Number(applied.userId), `Twilio error ${report.errorCode} (${via})`);
  }
  return applied;
}
