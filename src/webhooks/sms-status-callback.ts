import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { classifyTwilioError } from '../channels/sms/twilio-errors.ts';
import type { Db } from '../db/database.ts';
import { applyProviderStatus } from '../deliveries/provider-status.ts';
import type { RetryPolicy } from '../deliveries/retry-policy.ts';
import type { Logger } from '../logger.ts';
import { assertTwilioSignature } from './twilio-signature.ts';

export interface StatusCallbackOptions {
  db: Db;
  path: string;
  authToken: string;
  publicBaseUrl: () => string;
  smsPolicy: RetryPolicy;
  logger: Logger;
  onOptedOut: (userId: number, reason: string) => Promise<void>;
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
      preValidation: async (request) => assertTwilioSignature(request, o.authToken, o.publicBaseUrl()),
    },
    async (request, reply) => {
      const b = request.body;
      const errorCode = b.ErrorCode && b.ErrorCode !== '0' ? b.ErrorCode : null;
      const failed = b.MessageStatus === 'failed' || b.MessageStatus === 'undelivered';
      const cls = failed && errorCode ? classifyTwilioError(Number(errorCode)) : null;
      const applied = await applyProviderStatus(o.db, {
        providerMessageId: b.MessageSid,
        providerStatus: b.MessageStatus,
        errorCode,
        price: b.Price ?? null,
        // Async failures worth another try (e.g. 30003 handset unreachable) go back to the queue.
        retryAt: cls === 'retryable' ? new Date(Date.now() + o.smsPolicy.baseDelayMs) : null,
      });
      if (!applied) {
        request.log.info(
          { messageSid: b.MessageSid, status: b.MessageStatus },
          'status callback for an unknown message',
        );
      } else if (cls === 'opted_out' && applied.applied) {
        await o.onOptedOut(Number(applied.userId), `Twilio error ${errorCode} in a status callback`);
      }
      return reply.type('text/xml').send('<?xml version="1.0" encoding="UTF-8"?><Response></Response>');
    },
  );
}
