import { sql } from 'drizzle-orm';
import type { Channel, DeliveryJob, SendResult } from '../channels/channel.ts';
import { classifySmtpError, type SmtpErrorLike } from '../channels/email/smtp-errors.ts';
import type { EmailTransport } from '../channels/email/transport.ts';
import { type Db, queryRows } from '../db/database.ts';
import { getNotificationType } from '../notifications/catalog.ts';
import { type DigestItem, renderDigestEmail } from './digest-email.ts';

export interface DigestChannelOptions {
  inner: Channel;
  db: Db;
  transport: EmailTransport;
  from: string;
}

/**
 * The email channel, plus digests: a delivery carrying `details.digest_items` (set by the digest
 * flusher) is sent as one email listing them; every other email goes to the inner channel untouched.
 * Only digest-priority types are looked up, so the regular email path gains no query.
 */
export class DigestEmailChannel implements Channel {
  readonly name = 'email' as const;
  readonly #o: DigestChannelOptions;

  constructor(options: DigestChannelOptions) {
    this.#o = options;
  }

  async send(job: DeliveryJob, signal: AbortSignal): Promise<SendResult> {
    if (getNotificationType(job.notificationType)?.priority !== 'digest' || !job.user.email) {
      return this.#o.inner.send(job, signal);
    }
    const [row] = await queryRows<{ items: DigestItem[] | null }>(
      this.#o.db,
      sql`select details -> 'digest_items' as items from deliveries where id = ${job.deliveryId}`,
    );
    const items = row?.items;
    if (!items || items.length < 2) return this.#o.inner.send(job, signal);
    const email = renderDigestEmail(job.user.firstName, items);
    const domain = this.#o.from.replace(/>\s*$/, '').split('@')[1] ?? 'localhost';
    try {
      const info = await this.#o.transport.sendMail({
        from: this.#o.from,
        to: job.user.email,
        ...email,
        messageId: `<delivery-${job.deliveryId}@${domain}>`,
        signal,
      });
      return {
        kind: 'sent',
        providerMessageId: info.messageId,
        providerStatus: 'accepted',
        metadata: {
          email: {
            sent: true,
            message_id: info.messageId,
            sent_at: new Date().toISOString(),
            digest: items.length,
          },
        },
      };
    } catch (err) {
      const failure = classifySmtpError(err as SmtpErrorLike);
      const message = failure.response ?? (err as Error).message;
      return { kind: failure.kind, code: failure.code, message };
    }
  }
}
