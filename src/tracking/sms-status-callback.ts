import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { parseTwilioErrorCode } from '../channels/sms/twilio-errors.ts';
import { assertTwilioSignature } from '../channels/sms/twilio-signature.ts';
import { systemClock } from '../clock.ts';
import { recordSmsStatus, type SmsStatusDeps, twilioStatusReport } from './sms-status.ts';

export interface StatusCallbackOptions {
  path: string;
  authToken: string;
  publicBaseUrl: () => string;
  status: SmsStatusDeps;
}

const callbackBody = z
  .object({
    MessageSid: z.string().min(1).max(64),
    MessageStatus: z.string().min(1).max(32),
    ErrorCode: z.string().max(16).optional(),
    Price: z.string().max(32).optional(),
  })
  .loose();

/**
 * Twilio's status callbacks (form-encoded, signed). A forged or unsigned request is refused with
 * 403 before anything is read from the database; unknown sids get 200 (Twilio would only retry).
 */
export function registerSmsStatusCallback(app: FastifyInstance, o: StatusCallbackOptions): void {
  app.withTypeProvider<ZodTypeProvider>().post(
    o.path,
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Twilio SMS status callback (X-Twilio-Signature required)',
        body: callbackBody,
      },
      // Signed (checked before anything is read) and sent by Twilio in bursts from few addresses:
      // the per-address limit would throw reports away; a forged request costs one HMAC.
      config: { rateLimit: false, admissionPool: 'provider' },
      preValidation: async (request) => assertTwilioSignature(request, o.authToken, o.publicBaseUrl()),
    },
    async (request, reply) => {
      const b = request.body;
      const applied = await recordSmsStatus(
        {
          ...twilioStatusReport({
            sid: b.MessageSid,
            status: b.MessageStatus,
            errorCode: parseTwilioErrorCode(b.ErrorCode),
            price: b.Price ?? null,
          }),
          reportedAt: systemClock.now(),
        },
        o.status,
        'status callback',
      );
      if (!applied) {
        // Also a callback that beat the worker's write of the sid: it is kept and applied then.
        request.log.info(
          { messageSid: b.MessageSid, status: b.MessageStatus },
          'status callback for an unknown message',
        );
      }
      return reply.type('text/xml').send('<?xml version="1.0" encoding="UTF-8"?><Response></Response>');
    },
  );
}
