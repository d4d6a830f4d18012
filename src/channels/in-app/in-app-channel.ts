import type { Channel, SendResult } from '../channel.ts';

/**
 * The in-app inbox: the notification row is the inbox entry, so delivering it means marking it
 * delivered (live push over WebSocket hooks in here when the inbox socket is connected).
 */
export class InAppChannel implements Channel {
  readonly name = 'in_app' as const;

  async send(): Promise<SendResult> {
    return { kind: 'sent', delivered: true, providerStatus: 'stored' };
  }
}
