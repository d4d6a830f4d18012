import { twilioErrorCode } from '../delivery-errors.ts';
import type { FoundSms, ReconcileQuery, SmsProvider, SmsProviderResult, SmsRequest } from './sms-provider.ts';
import type { SmsService } from './sms-service.ts';

/**
 * Twilio behind the SMS provider seam: the seed-shaped `SmsService` (which `test-sms` and the
 * seed's own API keep using) read as the routing needs it. Twilio takes no per-message DLT ids
 * (its sender registration carries them) and no reference of ours.
 */
export class TwilioProvider implements SmsProvider {
  readonly name = 'twilio';
  readonly sendsMedia = true;
  readonly #service: SmsService;

  constructor(service: SmsService) {
    this.#service = service;
  }

  async send(request: SmsRequest): Promise<SmsProviderResult> {
    const r = await this.#service.sendSms(
      request.to,
      request.body,
      request.notificationId,
      request.mediaUrls,
    );
    if (r.success) {
      return {
        success: true,
        answer: { result: 'accepted' },
        messageId: r.message_sid,
        status: r.status,
        to: r.to,
        price: r.price,
        metadata: {},
      };
    }
    return {
      success: false,
      answer: r.answer,
      code: r.error_code === null ? 'NETWORK' : twilioErrorCode(r.error_code),
      error: r.error,
      providerCode: r.error_code,
      classification: r.classification,
    };
  }

  /** Twilio lists messages by recipient and date: the same text to the same number since then. */
  async findSent(query: ReconcileQuery): Promise<FoundSms | null> {
    const found = await this.#service.findSentMessage(query.to, query.body, query.since);
    return found ? { messageId: found.sid, status: found.status } : null;
  }
}
