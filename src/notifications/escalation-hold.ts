import type { NotificationTypeDef } from '../catalog/catalog.ts';
import type { EscalationWait } from '../channels/channel.ts';
import type { NewDelivery } from '../deliveries/enqueue.ts';

/**
 * The type's escalation rule (catalog/delivery-rules.ts) applied to a notification's decided deliveries: each
 * escalated channel that is queued waits until `afterMinutes` past the in-app message's send time
 * (or longer, when quiet hours already hold it), carrying the wait in its details and its first
 * history line; the send-time check then skips it if the message was read. In-app, push and the
 * channels the rule does not name go as decided. When the in-app message is not queued (the user
 * turned in-app off for the category) there is nothing to read, so nothing waits: the SMS goes as
 * it would without the rule.
 */
export function holdForEscalation<T extends { deliveries: readonly NewDelivery[] }>(
  def: NotificationTypeDef,
  decided: T,
): T {
  const rule = def.rules?.escalation;
  const inApp = decided.deliveries.find((d) => d.channel === 'in_app');
  const sendTime = inApp?.status === 'queued' ? inApp.nextAttemptAt : null;
  if (!rule || !sendTime) return decided;
  const until = new Date(sendTime.getTime() + rule.afterMinutes * 60_000);
  const deliveries = decided.deliveries.map((d) => {
    if (!rule.channels.includes(d.channel) || d.status !== 'queued' || !d.nextAttemptAt) return d;
    const due = d.nextAttemptAt > until ? d.nextAttemptAt : until;
    const wait: EscalationWait = { waits_for: 'in_app_read', until: until.toISOString() };
    const later = due > until ? `; not before ${due.toISOString()} (quiet hours)` : '';
    return {
      ...d,
      nextAttemptAt: due,
      details: { ...d.details, escalation: wait },
      detail: `waiting for the in-app message to be read until ${wait.until}${later}`,
    };
  });
  return { ...decided, deliveries };
}
