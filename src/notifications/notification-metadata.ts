type MetadataPart = Record<string, unknown>;

/**
 * The seed's `notification.metadata` (`{"sms": {…}, "push": {…}}`). Each delivery stores its
 * channel's part (`deliveries.metadata`, written with the delivery's own outcome and status
 * reports, so the hot path never rewrites the notification row); the notification's metadata is
 * the parts merged in delivery order (read by deliveries/read-deliveries.ts: metadataParts).
 */
export function mergeMetadata(parts: readonly MetadataPart[]): MetadataPart {
  return Object.assign({}, ...parts);
}
