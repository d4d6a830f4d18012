import type { Clock } from '../../../clock.ts';
import {
  type FoundSms,
  ReconcilePending,
  type ReconcileQuery,
  type SmsProvider,
  type SmsProviderResult,
  type SmsRequest,
} from '../sms-provider.ts';
import type { VonageService } from './vonage-service.ts';

export interface VonageProviderOptions {
  service: VonageService;
  /**
   * The furthest-along receipt that came for our reference while no delivery held its message id
   * (a send that got no answer): undefined when none came. Absent: nothing can be reconciled.
   */
  receiptFor?: (
    reference: string,
  ) => Promise<{ providerMessageId: string; providerStatus: string } | undefined>;
  /** After this long without a receipt for a send in doubt, it is taken as not sent. */
  reconcileWindowMs: number;
  clock: Clock;
}

/**
 * Vonage behind the SMS provider seam. Its SMS API has no search by recipient, so an unknown
 * outcome is settled by the delivery receipt: Vonage echoes our reference (`client-ref`, the
 * delivery id) on every receipt, and a receipt whose message id no delivery holds is parked with
 * it. A receipt found: it sent (adopt that id). None yet: it cannot tell until the window has
 * passed since the request; then it did not send.
 */
export class VonageProvider implements SmsProvider {
  readonly name = 'vonage';
  /** Its SMS API sends text only (MMS is its Messages API, which we do not use): media goes as links. */
  readonly sendsMedia = false;
  readonly #o: VonageProviderOptions;

  constructor(options: VonageProviderOptions) {
    this.#o = options;
  }

  async send(request: SmsRequest): Promise<SmsProviderResult> {
    const r = await this.#o.service.sendSms(request.to, request.body, {
      clientRef: request.reference,
      entityId: request.dlt.entityId,
      contentId: request.dlt.contentId,
    });
    if (r.success) {
      return {
        success: true,
        answer: r.answer,
        messageId: r.message_ids[0]!,
        // Vonage's answer means it took the message: Twilio's word for that is `queued`.
        status: 'accepted',
        to: r.to,
        price: r.price,
        metadata: {
          message_ids: r.message_ids,
          price: r.price,
          network: r.network,
          ...(r.partial_failure ? { partial_failure: r.partial_failure } : {}),
        },
      };
    }
    return {
      success: false,
      answer: r.answer,
      code: r.error_code ?? 'NETWORK',
      error: r.error,
      providerCode: r.error_code,
      classification: r.classification,
    };
  }

  async findSent(query: ReconcileQuery): Promise<FoundSms | null> {
    if (!this.#o.receiptFor) throw new Error('Vonage sends in doubt cannot be reconciled by this process');
    const receipt = await this.#o.receiptFor(query.reference);
    if (receipt) return { messageId: receipt.providerMessageId, status: receipt.providerStatus };
    const asked = (query.requestedAt ?? query.since).getTime();
    const waited = this.#o.clock.now() - asked;
    if (waited < this.#o.reconcileWindowMs) {
      const left = this.#o.reconcileWindowMs - waited;
      throw new ReconcilePending(
        `No Vonage receipt yet for the send in doubt; it counts as not sent ${Math.ceil(left / 1000)} s from now`,
        left,
      );
    }
    return null;
  }
}
