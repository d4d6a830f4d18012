import { classifyTwilioError, twilioErrorMessage } from '../channels/sms/twilio-errors.ts';
import { type Clock, systemClock } from '../clock.ts';
import type { AppliedStatus, ProviderStatusWriter } from '../deliveries/apply-provider-statuses.ts';

export interface SmsStatusReport {
  /** The provider's id for the message, as the delivery records it. */
  providerMessageId: string;
  /** In the words the queue ranks (Twilio's: `sent`, `delivered`, `undelivered`, `failed`…). */
  status: string;
  /** The provider's code for a failure: Twilio's integers, Vonage's `VONAGE_DLR_<n>`. */
  errorCode: number | string | null;
  /** The failure's text for the delivery's `error_message`. */
  errorMessage: string | null;
  /**
   * The provider's own verdict on the failure: `retryable` goes back to the queue, `opted_out` turns
   * the user's SMS off as well; null when the report is no failure.
   */
  errorClass: 'retryable' | 'permanent' | 'opted_out' | null;
  price: string | null;
  /** Our reference the provider echoed (Vonage's `client-ref`): kept if the report is parked. */
  reference?: string | null;
  /**
   * When the provider reported it, on the wall clock (ms): Vonage's signed timestamp, or the moment a
   * Twilio callback arrived (Twilio sends no time). The metrics' status lag starts here.
   */
  reportedAt?: number;
}

export interface SmsStatusDeps {
  /** Where the reports are written (group-committed). */
  writer: ProviderStatusWriter;
  /** How long after an async retryable failure (e.g. 30003) to try again. */
  retryDelayMs: number;
  /** The retry's due time is measured on it (default: the system clock). */
  clock?: Clock;
  onOptedOut: (userId: number, reason: string) => Promise<void>;
  /** Told how long a report with a `reportedAt` took to be stored (GET /metrics' status lag). */
  onStored?: (via: string, lagMs: number) => void;
}

/**
 * A Twilio status (a callback's or a fetched message's) as a report: Twilio's code, its text (the
 * one Twilio gave, when a fetched message carries it) and the classification of that code.
 */
export function twilioStatusReport(m: {
  sid: string;
  status: string;
  errorCode: number | null;
  errorMessage?: string | null;
  price: string | null;
}): SmsStatusReport {
  const failed = m.status === 'failed' || m.status === 'undelivered';
  return {
    providerMessageId: m.sid,
    status: m.status,
    errorCode: m.errorCode,
    errorMessage: m.errorCode ? twilioErrorMessage(m.errorCode, m.errorMessage) : null,
    errorClass: failed && m.errorCode ? classifyTwilioError(m.errorCode) : null,
    price: m.price,
  };
}

/**
 * Record what a provider says about a message — Twilio's status callbacks and the sweep that asks
 * about messages whose callbacks never came, Vonage's delivery receipts — with the same rules
 * whoever says it: statuses never move backwards, retryable async failures go back to the queue,
 * an opted-out recipient (Twilio's 21610) turns the user's SMS off.
 */
export async function recordSmsStatus(
  report: SmsStatusReport,
  deps: SmsStatusDeps,
  via: string,
): Promise<AppliedStatus | undefined> {
  const failed = report.status === 'failed' || report.status === 'undelivered';
  const cls = failed ? report.errorClass : null;
  const applied = await deps.writer.apply({
    providerMessageId: report.providerMessageId,
    providerStatus: report.status,
    errorCode: report.errorCode,
    errorMessage: report.errorMessage,
    price: report.price,
    reference: report.reference ?? null,
    retryAt: cls === 'retryable' ? new Date((deps.clock ?? systemClock).now() + deps.retryDelayMs) : null,
  });
  // The wall clock, as the providers' own stamps are (a test's stepped clock would skew the lag).
  if (report.reportedAt !== undefined) deps.onStored?.(via, systemClock.now() - report.reportedAt);
  if (applied?.applied && cls === 'opted_out') {
    await deps.onOptedOut(Number(applied.userId), `${report.errorMessage ?? report.errorCode} (${via})`);
  }
  return applied;
}
