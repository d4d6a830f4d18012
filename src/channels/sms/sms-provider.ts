/**
 * The seam between the SMS channel and one SMS provider: send a composed text, and say whether an
 * earlier attempt reached this provider. Each provider's module maps its own SDK onto it (Twilio:
 * `twilio-provider.ts`, Vonage: `vonage/vonage-provider.ts`); the channel and the routing see only
 * this, so a third provider is one more module.
 */
import type { DeliveryErrorCode } from '../delivery-errors.ts';
import type { ProviderAnswer } from './routing/provider-answer.ts';
import type { ProviderName } from './routing/routing-config.ts';

export interface SmsRequest {
  to: string;
  body: string;
  /** The public notification id (the seed's `notification_id` in results). */
  notificationId: string | null;
  /** Our reference for the message, echoed by a provider that can (Vonage's `client-ref`). */
  reference: string;
  /** India's DLT ids, for a provider that takes them per message (Vonage). */
  dlt: { entityId: string | null; contentId: string | null };
  /** MMS images (docs/mms.md): given only to a provider that `sendsMedia`. */
  mediaUrls: readonly string[];
}

export type SmsProviderResult =
  | {
      success: true;
      answer: ProviderAnswer;
      messageId: string;
      status: string;
      to: string;
      /** What the provider said it charged, when its answer says (Vonage's does; Twilio's comes by callback). */
      price: string | null;
      /** Provider-specific additions to the seed's `metadata.sms` (e.g. every part's id). */
      metadata: Record<string, unknown>;
    }
  | {
      success: false;
      answer: ProviderAnswer;
      /** The delivery's error code (`TWILIO_21211`, `VONAGE_4`, `NETWORK`). */
      code: DeliveryErrorCode;
      error: string;
      /** The provider's own code as its API types it, for `metadata.sms.error_code`. */
      providerCode: number | string | null;
      /** Whether sending again can help; `opted_out` turns the user's SMS off everywhere. */
      classification: 'retryable' | 'permanent' | 'opted_out';
    };

/** An earlier attempt's message, found at the provider. */
export interface FoundSms {
  messageId: string;
  status: string;
}

export interface ReconcileQuery {
  to: string;
  body: string;
  /** The earliest the message can have been sent. */
  since: Date;
  reference: string;
  /** When the attempt in doubt was made (or the latest it can have been), if known. */
  requestedAt: Date | null;
}

/** The provider cannot tell yet whether the send in doubt went out; ask again after `retryAfterMs`. */
export class ReconcilePending extends Error {
  override name = 'ReconcilePending';
  readonly retryAfterMs: number;

  constructor(message: string, retryAfterMs: number) {
    super(message);
    this.retryAfterMs = retryAfterMs;
  }
}

export interface SmsProvider {
  readonly name: ProviderName;
  /** Whether it sends MMS through our integration; an MMS is routed only to one that does. */
  readonly sendsMedia: boolean;
  send(request: SmsRequest): Promise<SmsProviderResult>;
  /**
   * The message an earlier attempt sent through this provider, or null when it certainly sent
   * none. Throws when it cannot tell (`ReconcilePending` when it will, later): the attempt then
   * stays in doubt and nothing is sent.
   */
  findSent(query: ReconcileQuery): Promise<FoundSms | null>;
}
