import type { Logger } from '../../logger.ts';
import { failsDelivery } from '../../templates/render-pool.ts';
import type { TemplateStore } from '../../templates/template-store.ts';
import type { Channel, DeliveryJob, SendResult } from '../channel.ts';
import { skipMessage, twilioErrorCode } from '../delivery-errors.ts';
import type { PriceTable } from './cost.ts';
import { maskPhone, validatePhone } from './phone.ts';
import { composeSms } from './sms-composer.ts';
import type { SmsService } from './sms-service.ts';

export interface SmsChannelOptions {
  service: SmsService;
  templates: TemplateStore;
  prices: PriceTable;
  logger: Logger;
  /** Twilio said the recipient opted out (21610): turn their SMS off. */
  onOptedOut: (userId: number, reason: string) => Promise<void>;
  dlt: { entityId: string | undefined; senderId: string | undefined };
}

/**
 * SMS deliveries: check the number, compose the text, send through the SDK, and classify the answer
 * (retryable / permanent / opted out). The state after "sent" arrives later by status callback.
 * One provider request per attempt: the worker never starts another for a delivery it holds. When
 * the budget ends in doubt, `lookup` asks Twilio about the earlier attempts instead of sending.
 */
export class SmsChannel implements Channel {
  readonly name = 'sms' as const;
  readonly #o: SmsChannelOptions;

  constructor(options: SmsChannelOptions) {
    this.#o = options;
  }

  async send(job: DeliveryJob): Promise<SendResult> {
    const prepared = await this.#prepare(job);
    if ('kind' in prepared) return prepared;
    const { phone, sms, details } = prepared;
    if (job.outcomeUnknown) {
      const adopted = await this.#adopt(job, prepared);
      if (adopted) return adopted;
    }
    const result = await this.#o.service.sendSms(phone, sms.body, job.notificationId);
    const content = { body: sms.body };
    if (result.success) {
      return {
        kind: 'sent',
        providerMessageId: result.message_sid,
        providerStatus: result.status,
        costAmount: sms.cost.amount,
        costCurrency: sms.cost.currency,
        details,
        content,
        metadata: { sms: sentMetadata(result.message_sid, result.status, result.to) },
      };
    }
    const code = result.error_code === null ? 'NETWORK' : twilioErrorCode(result.error_code);
    this.#o.logger.warn(
      { deliveryId: job.deliveryId, to: maskPhone(phone), code, classification: result.classification },
      'SMS send failed',
    );
    const metadata = { sms: { sent: false, error: result.error, error_code: result.error_code, to: phone } };
    if (result.classification === 'retryable') {
      // No answer (timeout, dropped connection) or a 5xx: Twilio may have created the message.
      const outcomeUnknown = result.http_status === null || result.http_status >= 500;
      return { kind: 'retryable', code, message: result.error, outcomeUnknown, content, metadata };
    }
    if (result.classification === 'opted_out') {
      await this.#o.onOptedOut(Number(job.user.id), `Twilio error 21610 for delivery ${job.deliveryId}`);
    }
    return { kind: 'permanent', code, message: result.error, content, metadata };
  }

  /** Lookup-only attempt (see Channel.lookup): the earlier attempt's message, or null. */
  async lookup(job: DeliveryJob): Promise<SendResult | null> {
    const prepared = await this.#prepare(job);
    if ('kind' in prepared) return prepared;
    return this.#adopt(job, prepared);
  }

  /** The number checked and the text composed, or why this delivery cannot be sent. */
  async #prepare(job: DeliveryJob): Promise<SendResult | Prepared> {
    const phone = job.user.phone;
    if (!phone) {
      const message = skipMessage('no_phone', { email: job.user.email ?? job.user.externalId });
      return { kind: 'skipped', reason: 'no_phone', message };
    }
    if (!validatePhone(phone).ok)
      return { kind: 'skipped', reason: 'invalid_phone', message: skipMessage('invalid_phone') };
    let sms: Sms;
    try {
      sms = await composeSms(this.#o.templates, this.#o.prices, {
        type: job.notificationType,
        to: phone,
        user: job.user,
        context: job.context,
      });
    } catch (err) {
      if (!failsDelivery(err)) throw err;
      return { kind: 'permanent', code: err.code, message: err.message };
    }
    const details = {
      encoding: sms.encoding,
      characters: sms.characters,
      segments: sms.segments,
      dlt_template_id: sms.dltTemplateId ?? null,
      dlt_entity_id: this.#o.dlt.entityId ?? null,
      dlt_sender_id: this.#o.dlt.senderId ?? null,
      outcome_unknown: false,
    };
    return { phone, sms, details };
  }

  /**
   * An earlier attempt may have reached Twilio (its worker died mid-send, or it got no answer): ask
   * Twilio whether that SMS went out (same number, same text, since the delivery was created) and
   * adopt it rather than send twice. A lookup that fails throws: the attempt ends unknown again,
   * and nothing is sent on a guess.
   */
  async #adopt(job: DeliveryJob, { phone, sms, details }: Prepared): Promise<SendResult | null> {
    const found = await this.#o.service.findSentMessage(
      phone,
      sms.body,
      new Date(job.createdAt.getTime() - 1000),
    );
    this.#o.logger.info(
      { deliveryId: job.deliveryId, adopted: found?.sid ?? null },
      found
        ? 'reconciled: the earlier attempt had reached the provider'
        : 'reconciled: no earlier message at the provider',
    );
    if (!found) return null;
    return {
      kind: 'sent',
      providerMessageId: found.sid,
      providerStatus: found.status,
      delivered: found.status === 'delivered',
      costAmount: sms.cost.amount,
      costCurrency: sms.cost.currency,
      details: { ...details, reconciled: true },
      content: { body: sms.body },
      metadata: { sms: sentMetadata(found.sid, found.status, phone) },
    };
  }
}

type Sms = Awaited<ReturnType<typeof composeSms>>;
interface Prepared {
  phone: string;
  sms: Sms;
  details: Record<string, unknown>;
}

/** The seed's `notification.metadata.sms` shape. */
function sentMetadata(sid: string, status: string, to: string) {
  return { sent: true, message_sid: sid, sent_at: new Date().toISOString(), status, to };
}
