/** One entry of a digest, oldest first, as the flusher stores it in `details.digest_items`. */
export interface DigestItem {
  notification_id: string;
  type: string;
  title: string;
  message: string;
  /** The page the item is about (notification-link.ts); absent in digests collected before links. */
  link?: string | null;
  created_at: string;
}

/**
 * The variables of the `digest` frame (templates/<locale>/frames/digest.json): the items (each
 * with its link, or null) and where the user manages notifications. The user's own variables are added by the email channel.
 */
export function digestContext(items: readonly DigestItem[], settingsUrl: string): Record<string, unknown> {
  return {
    items: items.map((item) => ({
      type: item.type,
      title: item.title,
      message: item.message,
      link: item.link ?? null,
    })),
    settings_url: settingsUrl,
  };
}
