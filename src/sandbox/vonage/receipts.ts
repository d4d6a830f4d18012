/**
 * Delivery receipts: the signed JSON Vonage posts to the request's `callback` (or the account's
 * receipt URL) for each part, as the sandbox's status walk moves. The walk's steps map onto
 * Vonage's receipt statuses; `sending` has no receipt of its own.
 */
import type { MessageStatus, SandboxMessage } from '../message-store.ts';
import type { StatusCallbacks } from '../status-callbacks.ts';
import type { WebhookClient } from '../webhook-client.ts';
import type { VonageAccount } from './account.ts';
import { msisdn } from './network.ts';
import { signed } from './signature.ts';

export type ReceiptStatus = 'accepted' | 'delivered' | 'failed' | 'rejected';

const RECEIPT_STATUSES: Partial<Record<MessageStatus, ReceiptStatus>> = {
  sent: 'accepted',
  delivered: 'delivered',
  // Left Vonage and failed at the carrier, or refused by the carrier up front.
  undelivered: 'failed',
  failed: 'rejected',
};

/** Vonage's `message-timestamp`: `2018-10-25 12:10:29`, UTC. */
export function vonageTimestamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** The carrier's `scts`: YYMMDDhhmm. */
function scts(ms: number): string {
  return new Date(ms).toISOString().replace(/[-T:]/g, '').slice(2, 12);
}

export function receiptParams(
  m: SandboxMessage,
  messageId: string,
  status: ReceiptStatus,
  account: VonageAccount,
  now: number,
): Record<string, string> {
  const failed = status === 'failed' || status === 'rejected';
  const params: Record<string, string> = {
    msisdn: msisdn(m.to),
    to: m.from ?? '',
    'network-code': m.vonage?.network ?? '',
    messageId,
    price: m.vonage?.partPrice ?? '0.00000000',
    status,
    scts: scts(m.dateUpdated),
    'err-code': failed ? String(m.errorCode ?? 1) : '0',
    'api-key': account.apiKey,
    'message-timestamp': vonageTimestamp(now),
  };
  const clientRef = m.params['client-ref'];
  if (clientRef) params['client-ref'] = clientRef;
  return signed(params, account.signatureSecret, account.signatureAlgorithm, now);
}

export class Receipts {
  readonly #account: VonageAccount;
  readonly #client: WebhookClient;
  readonly #callbacks: StatusCallbacks;

  constructor(account: VonageAccount, client: WebhookClient, callbacks: StatusCallbacks) {
    this.#account = account;
    this.#client = client;
    this.#callbacks = callbacks;
  }

  /** One receipt per part, each with its own message id (as Vonage sends for a concatenated SMS). */
  send(m: SandboxMessage, step: MessageStatus, duplicate: boolean): void {
    const status = RECEIPT_STATUSES[step];
    const url = m.statusCallback;
    if (status === undefined || url === null || m.vonage === undefined) return;
    for (const id of m.vonage.messageIds) {
      const receipt = receiptParams(m, id, status, this.#account, Date.now());
      this.#callbacks.track(url, id, this.#client.postJson(url, receipt));
      if (duplicate) this.#callbacks.track(url, id, this.#client.postJson(url, receipt));
    }
  }
}
