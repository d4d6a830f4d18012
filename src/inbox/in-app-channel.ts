import type { Channel, DeliveryJob, SendResult } from '../channels/channel.ts';
import type { InboxPublisher } from './inbox-events.ts';

/**
 * The in-app inbox: the notification row is the inbox entry, so delivering it means marking it
 * delivered and telling the API nodes (NOTIFY lc_inbox), whose WebSocket hubs push it to the
 * user's open connections. A failed NOTIFY is retried like any send, so no live push is lost silently.
 */
export class InAppChannel implements Channel {
  readonly name = 'in_app' as const;
  readonly #publisher: InboxPublisher | undefined;

  /** Without a publisher (a worker embedded without the live inbox) the row alone is the delivery. */
  constructor(publisher?: InboxPublisher) {
    this.#publisher = publisher;
  }

  async send(job: DeliveryJob): Promise<SendResult> {
    await this.#publisher?.publish({ kind: 'new', user: job.user.externalId, id: job.notificationId });
    return { kind: 'sent', delivered: true, providerStatus: 'stored' };
  }
}
