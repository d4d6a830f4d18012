import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isYes, matchKeyword } from '../channels/sms/sms-keywords.ts';
import { assertTwilioSignature } from '../channels/sms/twilio-signature.ts';
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { optInToSms, type SmsOptInHook } from '../preferences/preferences-service.ts';
import { optOutOfSms } from '../preferences/sms-opt-out.ts';
import { latestSmsNotification, storeInbound, usersByPhone } from './sms-replies.ts';

export const SMS_INBOUND_PATH = '/api/sms/inbound/';

export interface InboundOptions {
  db: Db;
  authToken: string;
  publicBaseUrl: () => string;
  helpText: string;
  logger: Logger;
  /** Sends the SMS opt-in confirmation when START turns SMS on. */
  onSmsOptIn?: SmsOptInHook;
}

const inboundBody = z
  .object({
    MessageSid: z.string().min(1).max(64),
    From: z.string().min(1).max(32),
    To: z.string().min(1).max(32),
    Body: z.string().max(1600).default(''),
  })
  .loose();

function escapeXml(text: string): string {
  return text.replace(
    /[<>&'"]/g,
    (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', "'": 'apos', '"': 'quot' }[c]};`,
  );
}

/** A TwiML answer: one reply SMS, or none. */
export function twiml(message?: string): string {
  const inner = message ? `<Message>${escapeXml(message)}</Message>` : '';
  return `<?xml version="1.0" encoding="UTF-8"?><Response>${inner}</Response>`;
}

/**
 * Texts sent to our number (signed by Twilio; a forged request is a 403 before anything is read).
 * STOP-type keywords switch all of the sender's SMS off, START-type back on, HELP answers with the
 * help text; a YES after a message that asked for confirmation confirms that order; everything is
 * stored. No reply to STOP: Twilio sends its own confirmation and blocks ours to an opted-out number.
 * No reply to START either: Twilio answers it itself, and when START turned SMS on the opt-in
 * confirmation (notifications/sms-opt-in-confirmation.ts) is our one message, so the user is not told twice.
 */
export function registerSmsInbound(app: FastifyInstance, o: InboundOptions): void {
  app.withTypeProvider<ZodTypeProvider>().post(
    SMS_INBOUND_PATH,
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Twilio inbound SMS webhook (X-Twilio-Signature required)',
        body: inboundBody,
      },
      // Signed (checked before anything is read) and sent by Twilio in bursts from few addresses:
      // the per-address limit would throw reports away; a forged request costs one HMAC.
      config: { rateLimit: false, admissionPool: 'provider' },
      preValidation: async (request) => assertTwilioSignature(request, o.authToken, o.publicBaseUrl()),
    },
    async (request, reply) => {
      const b = request.body;
      const matched = await usersByPhone(o.db, b.From);
      const user = matched[0];
      const latest = user ? await latestSmsNotification(o.db, user.id) : undefined;
      const confirms = isYes(b.Body) && latest?.asksConfirmation === true;
      const keyword = confirms ? null : matchKeyword(b.Body);
      const fresh = await storeInbound(o.db, {
        messageSid: b.MessageSid,
        userId: user?.id ?? null,
        from: b.From,
        to: b.To,
        body: b.Body,
        keyword,
        notificationId: latest?.notificationId ?? null,
        orderNumber: latest?.orderNumber ?? null,
        confirmed: confirms,
      });
      const send = (text?: string) => reply.type('text/xml').send(twiml(text));
      if (keyword === 'HELP') return send(o.helpText);
      // A webhook Twilio retried was handled the first time: answer the same, change nothing again.
      if (fresh) {
        const reason = `SMS keyword "${b.Body.trim()}" from the user's phone`;
        for (const u of keyword === 'STOP' || keyword === 'START' ? matched : []) {
          if (keyword === 'STOP') await optOutOfSms(o.db, u.id, 'stop_keyword', reason);
          else await optInToSms(o.db, u.id, reason, o.onSmsOptIn);
        }
        o.logger.info(
          { messageSid: b.MessageSid, keyword, users: matched.length, confirmed: confirms },
          'inbound SMS',
        );
      }
      if (confirms) {
        const order = latest?.orderNumber ? `order ${latest.orderNumber}` : 'your order';
        return send(`LaundryConnect: thanks, ${order} is confirmed.`);
      }
      return send();
    },
  );
}
