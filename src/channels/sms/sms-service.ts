import type twilio from 'twilio';
import { INVALID_PHONE_MESSAGE, validatePhone } from './phone.ts';
import type { ProviderAnswer } from './routing/provider-answer.ts';
import {
  classifyTwilioError,
  type TwilioErrorClass,
  twilioAnswer,
  twilioErrorMessage,
} from './twilio-errors.ts';

export interface SmsSettings {
  client: twilio.Twilio | undefined;
  from: string | undefined;
  messagingServiceSid: string | undefined;
  /** Resolved per send: the HTTP address is known only once the server listens. */
  statusCallbackUrl: () => string | undefined;
}

/** The seed's `send_sms` result: `{'success': True, 'message_sid': 'SMxxxxx', 'status': 'queued', ...}`. */
export type SendSmsResult =
  | {
      success: true;
      message_sid: string;
      status: string;
      to: string;
      num_segments: number | null;
      price: string | null;
      notification_id: string | null;
    }
  | {
      success: false;
      error: string;
      error_code: number | null;
      http_status: number | null;
      classification: TwilioErrorClass;
      /** What it says to the SMS routing: may the delivery fail over, and the provider's health. */
      answer: ProviderAnswer;
      to: string;
      notification_id: string | null;
    };

/** The seed's `get_message_status` result: `{'status': 'delivered', 'to': '+91…', 'price': '0.0070', ...}`. */
export interface MessageStatus {
  sid: string;
  status: string;
  to: string;
  from: string | null;
  price: string | null;
  price_unit: string | null;
  num_segments: number | null;
  error_code: number | null;
  error_message: string | null;
  date_sent: string | null;
  date_updated: string | null;
}

export const SMS_NOT_CONFIGURED = 'SMS service not configured';

/**
 * Talks to Twilio (or the sandbox, which is the same to this code) through the official SDK. Knows
 * nothing of users or templates: the channel composes, this sends and reads status.
 */
export class SmsService {
  readonly #s: SmsSettings;

  constructor(settings: SmsSettings) {
    this.#s = settings;
  }

  get configured(): boolean {
    return Boolean(this.#s.client && (this.#s.from || this.#s.messagingServiceSid));
  }

  async sendSms(
    to: string,
    message: string,
    notificationId: string | null = null,
    mediaUrls: readonly string[] = [],
  ): Promise<SendSmsResult> {
    const fail = (
      error: string,
      code: number | null,
      status: number | null,
      cls: TwilioErrorClass,
      answer: ProviderAnswer,
    ): SendSmsResult => ({
      success: false,
      error,
      error_code: code,
      http_status: status,
      classification: cls,
      answer,
      to,
      notification_id: notificationId,
    });
    if (!this.configured || !this.#s.client)
      return fail(SMS_NOT_CONFIGURED, null, null, 'permanent', { result: 'refused', refusal: 'auth' });
    if (!validatePhone(to).ok)
      return fail(INVALID_PHONE_MESSAGE, 21211, null, 'permanent', {
        result: 'refused',
        refusal: 'recipient',
      });
    const callback = this.#s.statusCallbackUrl();
    try {
      const msg = await this.#s.client.messages.create({
        to,
        body: message,
        // Repeated MediaUrl fields: Twilio fetches each image and sends the text as one MMS.
        ...(mediaUrls.length > 0 ? { mediaUrl: [...mediaUrls] } : {}),
        ...(this.#s.messagingServiceSid
          ? { messagingServiceSid: this.#s.messagingServiceSid }
          : { from: this.#s.from! }),
        ...(callback ? { statusCallback: callback } : {}),
      });
      return {
        success: true,
        message_sid: msg.sid,
        status: msg.status,
        to: msg.to,
        num_segments: msg.numSegments ? Number(msg.numSegments) : null,
        price: msg.price ?? null,
        notification_id: notificationId,
      };
    } catch (err) {
      const e = err as { code?: number | string; status?: number; message?: string };
      // A RestException carries Twilio's code and HTTP status; anything else is the network.
      const code = typeof e.code === 'number' ? e.code : null;
      const status = typeof e.status === 'number' ? e.status : null;
      const text = code ? twilioErrorMessage(code, e.message) : `Twilio request failed: ${e.message}`;
      const socketCode = typeof e.code === 'string' ? e.code : undefined;
      return fail(
        text,
        code,
        status,
        classifyTwilioError(code, status ?? undefined),
        twilioAnswer(code, status, socketCode),
      );
    }
  }

  /**
   * A message already sent to `to` with exactly `body` since `since`, if any: how a resend after a
   * crash finds out that the first attempt did reach Twilio (Messages list filtered by To and date).
   */
  async findSentMessage(
    to: string,
    body: string,
    since: Date,
  ): Promise<{ sid: string; status: string } | undefined> {
    if (!this.#s.client) return undefined;
    const list = await this.#s.client.messages.list({ to, dateSentAfter: since, limit: 100 });
    const match = list.find((m) => m.body === body);
    return match ? { sid: match.sid, status: match.status } : undefined;
  }

  async getMessageStatus(sid: string): Promise<MessageStatus> {
    if (!this.#s.client) throw new Error(SMS_NOT_CONFIGURED);
    const m = await this.#s.client.messages(sid).fetch();
    return {
      sid: m.sid,
      status: m.status,
      to: m.to,
      from: m.from ?? null,
      price: m.price ?? null,
      price_unit: m.priceUnit ?? null,
      num_segments: m.numSegments ? Number(m.numSegments) : null,
      error_code: m.errorCode ?? null,
      error_message: m.errorMessage ?? null,
      date_sent: m.dateSent?.toISOString() ?? null,
      date_updated: m.dateUpdated?.toISOString() ?? null,
    };
  }
}
