import type { ChannelName } from '../catalog/catalog.ts';
import { describeDeliveryError } from '../channels/delivery-error-info.ts';

/**
 * The body of a webhook, in the Standard Webhooks recommended shape `{type, timestamp, data}`.
 * `data` is what the trigger stored, plus what only the code knows: a failed delivery's error
 * class (retryable, permanent, …) and its docs anchor, from the same catalogue the console uses.
 * Built the same way on every attempt, so a retry or a replay sends the same bytes' meaning.
 */
export function webhookBody(eventType: string, createdAt: Date, data: Record<string, unknown>): string {
  return JSON.stringify({
    type: eventType,
    timestamp: createdAt.toISOString(),
    data: enrich(eventType, data),
  });
}

function enrich(eventType: string, data: Record<string, unknown>): Record<string, unknown> {
  const code = data['error_code'];
  if (eventType !== 'delivery.failed' || typeof code !== 'string') return data;
  const info = describeDeliveryError(data['channel'] as ChannelName, code);
  return { ...data, error_class: info.class, error_docs: info.docs };
}
