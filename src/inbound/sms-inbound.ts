import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { assertTwilioSignature } from '../channels/sms/twilio-signature.ts';
import { handleInboundText, type InboundKeywordDeps } from './inbound-keywords.ts';

export const SMS_INBOUND_PATH = '/api/sms/inbound/';

export interface InboundOptions extends InboundKeywordDeps {
  authToken: string;
  publicBaseUrl: () => string;
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
 * Texts sent to our Twilio number (signed by Twilio; a forged request is a 403 before anything is
 * read), handled as every provider's (inbound-keywords.ts). The reply, if any, is the TwiML answer:
 * a webhook Twilio retried gets the same answer again, since Twilio did not get the first.
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
      const { reply: text } = await handleInboundText(o, {
        provider: 'twilio',
        messageId: b.MessageSid,
        from: b.From,
        to: b.To,
        body: b.Body,
      });
      return reply.type('text/xml').send(twiml(text));
    },
  );
}
