/**
 * Status callbacks: the form Twilio posts to a message's StatusCallback on every status change
 * after `queued`. A failed callback is counted and logged; it never reaches the caller. Vonage's
 * receipts go through the same counting (`track`).
 */
import { API_VERSION } from './message-resource.ts';
import type { MessageStatus, SandboxMessage } from './message-store.ts';
import type { SandboxLogger, SandboxStats } from './stats.ts';
import type { WebhookClient, WebhookResponse } from './webhook-client.ts';

/** Twilio's RawDlrDoneDate: the carrier's YYMMDDhhmm completion time. */
function rawDlrDoneDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-T:]/g, '').slice(2, 12);
}

export function statusCallbackParams(
  m: SandboxMessage,
  status: MessageStatus,
  accountSid: string,
): Record<string, string> {
  const params: Record<string, string> = {
    AccountSid: accountSid,
    ApiVersion: API_VERSION,
    From: m.from ?? '',
    MessageSid: m.sid,
    MessageStatus: status,
    SmsSid: m.sid,
    SmsStatus: status,
    To: m.to,
  };
  if (m.messagingServiceSid !== null) params.MessagingServiceSid = m.messagingServiceSid;
  if ((status === 'undelivered' || status === 'failed') && m.errorCode !== null) {
    params.ErrorCode = String(m.errorCode);
  }
  if (status === 'delivered' || status === 'undelivered')
    params.RawDlrDoneDate = rawDlrDoneDate(m.dateUpdated);
  return params;
}

export class StatusCallbacks {
  readonly #accountSid: string;
  readonly #client: WebhookClient;
  readonly #stats: SandboxStats;
  readonly #logger: SandboxLogger;

  constructor(accountSid: string, client: WebhookClient, stats: SandboxStats, logger: SandboxLogger) {
    this.#accountSid = accountSid;
    this.#client = client;
    this.#stats = stats;
    this.#logger = logger;
  }

  send(m: SandboxMessage, status: MessageStatus, duplicate: boolean): void {
    if (m.statusCallback === null) return;
    const url = m.statusCallback;
    const params = statusCallbackParams(m, status, this.#accountSid);
    this.track(url, m.sid, this.#client.post(url, params));
    if (duplicate) this.track(url, m.sid, this.#client.post(url, params));
  }

  /** Counts a webhook in flight until it is answered, then as sent (2xx) or failed, and logs a failure. */
  track(url: string, sid: string, posted: Promise<WebhookResponse>): void {
    this.#stats.callbacksInFlight++;
    posted.then(
      (res) => {
        this.#stats.callbacksInFlight--;
        if (res.status >= 200 && res.status < 300) {
          this.#stats.callbacksSent++;
          return;
        }
        this.#stats.callbacksFailed++;
        this.#logger.warn({ url, sid, status: res.status }, 'status callback refused');
      },
      (err: unknown) => {
        this.#stats.callbacksInFlight--;
        this.#stats.callbacksFailed++;
        this.#logger.warn({ url, sid, err: String(err) }, 'status callback failed');
      },
    );
  }
}
