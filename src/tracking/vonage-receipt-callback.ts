import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  parseVonageReceipt,
  type VonageReceipt,
  type VonageSignatureMethod,
} from '../channels/sms/vonage/vonage-receipts.ts';
import type { Clock } from '../clock.ts';
import type { Db } from '../db/database.ts';
import { smsMessageIds } from '../deliveries/read-deliveries.ts';
import { recordSmsStatus, type SmsStatusDeps } from './sms-status.ts';

export interface VonageReceiptOptions {
  db: Db;
  path: string;
  signature: { secret: string; method: VonageSignatureMethod };
  clock: Clock;
  status: SmsStatusDeps;
}

/** A delivery id as the channel passes it in `client-ref` (a bigint that fits a JS number). */
const DELIVERY_ID = /^[1-9]\d{0,14}$/;

/**
 * The provider id a receipt is applied under. Vonage sends one receipt per part, each with that
 * part's id, while the delivery records the first part's (and every part's in
 * `metadata.sms.message_ids`, with its own id as `client-ref`): a part the delivery knows is applied
 * under the first part's id. Anything else keeps its own id, so a receipt that beat the worker's
 * write of the ids is parked by lc_apply_provider_statuses and applied when the write comes; a later
 * part's receipt that came that early stays parked (the first part's decides). Limit: the parts are
 * one status, and the first final status wins (final ranks are equal), so a later part that fails
 * after the first was delivered leaves the delivery `delivered`.
 */
export async function receiptProviderId(
  db: Db,
  receipt: Pick<VonageReceipt, 'messageId' | 'clientRef'>,
): Promise<string> {
  const ref = receipt.clientRef;
  if (ref === null || !DELIVERY_ID.test(ref)) return receipt.messageId;
  const d = await smsMessageIds(db, Number(ref));
  if (!d?.providerMessageId) return receipt.messageId;
  const known = d.providerMessageId === receipt.messageId || d.partIds.includes(receipt.messageId);
  return known ? d.providerMessageId : receipt.messageId;
}

/**
 * Vonage's delivery receipts, as JSON POSTs or GET queries (the dashboard offers both). The
 * signature and its timestamp are checked before anything is read from the database: a forged,
 * unsigned, stale or malformed receipt is a 403 (SIGNATURE_INVALID). A receipt is recorded as a
 * Twilio callback is (recordSmsStatus: no regression, retryable err-codes back to the queue,
 * permanent ones fail); unknown message ids get 200, as Vonage would only retry.
 */
export function registerVonageReceipts(app: FastifyInstance, o: VonageReceiptOptions): void {
  const verify = (params: unknown) =>
    parseVonageReceipt((params ?? {}) as Record<string, unknown>, {
      signatureSecret: o.signature.secret,
      signatureMethod: o.signature.method,
      clock: o.clock,
    });
  const handle = async (request: FastifyRequest, params: unknown) => {
    const receipt = verify(params);
    const applied = await recordSmsStatus(
      {
        providerMessageId: await receiptProviderId(o.db, receipt),
        status: receipt.providerStatus,
        errorCode: receipt.errorCode,
        errorMessage: receipt.errorMessage,
        errorClass: receipt.errorClass,
        // One part's price: the send's answer already summed the parts', so this would undercount.
        price: null,
        // A receipt for a send that got no answer is how the channel learns it went out.
        reference: receipt.clientRef,
        // Signed and checked to be digits and recent by the verification above.
        reportedAt: Number((params as Record<string, string>).timestamp) * 1000,
      },
      o.status,
      'Vonage receipt',
    );
    if (!applied) {
      request.log.info(
        { messageId: receipt.messageId, status: receipt.vonageStatus },
        'Vonage receipt for an unknown message',
      );
    }
  };
  app.route({
    // Vonage's dashboard sends them as JSON POSTs or as GET queries.
    method: ['POST', 'GET'],
    url: o.path,
    schema: { tags: ['webhooks'], summary: 'Vonage SMS delivery receipt (signed: sig, timestamp)' },
    // Signed (checked before anything is read) and sent by Vonage in bursts from few addresses:
    // the per-address limit would throw receipts away; a forged request costs one hash.
    config: { rateLimit: false, admissionPool: 'provider' },
    handler: async (request, reply) => {
      await handle(request, request.method === 'GET' ? request.query : request.body);
      return reply.code(200).send();
    },
  });
}
