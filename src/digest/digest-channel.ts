import type { SettingsLinks } from '../auth/settings-link.ts';
import { getNotificationType } from '../catalog/catalog.ts';
import type { Channel, DeliveryJob, SendResult } from '../channels/channel.ts';
import type { EmailChannel } from '../channels/email/email-channel.ts';
import type { Db } from '../db/database.ts';
import { digestItemsOf } from '../deliveries/digest-merge.ts';
import { type DigestItem, digestContext } from './digest-email.ts';

export interface DigestChannelOptions {
  inner: EmailChannel;
  db: Db;
  /** Where the digest's footer sends the user to manage notifications. */
  settings: SettingsLinks;
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
    const items = await digestItemsOf<DigestItem>(this.#o.db, job.deliveryId);
    if (!items || items.length < 2) return this.#o.inner.send(job, signal);
    const settingsUrl = await this.#o.settings.forUser(job.user.externalId);
    return this.#o.inner.sendTemplate(job, 'digest', digestContext(items, settingsUrl), signal, {
      metadata: { digest: items.length },
      types: items.map((item) => item.type),
    });
  }
}
