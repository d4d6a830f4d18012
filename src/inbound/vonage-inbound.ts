import type { FastifyInstance, FastifyRequest } from 'fastify';
import { maskPhone, maskPhonesIn } from '../channels/sms/phone.ts';
import { parseVonageInbound, type VonageSignatureMethod } from '../channels/sms/vonage/vonage-receipts.ts';
import type { VonageSendResult } from '../channels/sms/vonage/vonage-service.ts';
import type { Clock } from '../clock.ts';
import { handleInboundText, type InboundKeywordDeps } from './inbound-keywords.ts';

export interface VonageInboundOptions extends InboundKeywordDeps {
  path: string;
  signature: { secret: string; method: VonageSignatureMethod };
  clock: Clock;
  /** Vonage's SMS API: how a reply goes out, as Vonage takes no reply in the webhook's answer. */
  sendSms: (to: string, text: string) => Promise<VonageSendResult>;
}

/**
 * Texts sent to our Vonage number, as JSON POSTs or GET queries. The signature and its timestamp
 * are checked before anything is read from the database (403 SIGNATURE_INVALID otherwise); the text
 * is then handled as every provider's (inbound-keywords.ts, matched on the whole text, not on
 * Vonage's first-word `keyword`). A reply (HELP, a confirmed order) is sent as an SMS of its own,
 * best effort, and only the first time: a webhook Vonage repeats must not text the user twice.
 * The answer is an empty 200 once handled.
 */
export function registerVonageInbound(app: FastifyInstance, o: VonageInboundOptions): void {
  const handle = async (request: FastifyRequest, params: unknown) => {
    const m = parseVonageInbound((params ?? {}) as Record<string, unknown>, {
      signatureSecret: o.signature.secret,
      signatureMethod: o.signature.method,
      clock: o.clock,
    });
    const { reply, fresh } = await handleInboundText(o, {
      provider: 'vonage',
      messageId: m.messageId,
      from: m.from,
      to: m.to,
      body: m.text,
    });
    if (reply === undefined || !fresh) return;
    const log = { messageId: m.messageId, recipient: maskPhone(m.from) };
    try {
      const sent = await o.sendSms(m.from, reply);
      if (!sent.success) {
        request.log.warn(
          { ...log, code: sent.error_code, error: maskPhonesIn(sent.error) },
          'Vonage reply SMS not sent',
        );
      }
    } catch (err) {
      request.log.warn({ ...log, err }, 'Vonage reply SMS not sent');
    }
  };
  app.route({
    // Vonage's dashboard sends them as JSON POSTs or as GET queries.
    method: ['POST', 'GET'],
    url: o.path,
    schema: { tags: ['webhooks'], summary: 'Vonage inbound SMS webhook (signed: sig, timestamp)' },
    // Signed (checked before anything is read) and sent by Vonage in bursts from few addresses:
    // the per-address limit would throw texts away; a forged request costs one hash.
    config: { rateLimit: false, admissionPool: 'provider' },
    handler: async (request, reply) => {
      await handle(request, request.method === 'GET' ? request.query : request.body);
      return reply.code(200).send();
    },
  });
}
