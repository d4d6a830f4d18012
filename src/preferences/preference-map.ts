import { eq } from 'drizzle-orm';
import { CATEGORIES, type ChannelName } from '../catalog/catalog.ts';
import type { Queryable } from '../db/database.ts';
import { notificationPreferences } from '../db/schema.ts';

/**
 * Channel defaults when a user has made no choice: SMS is opt-in (the seed's rule, it costs money),
 * email and the in-app inbox are on, push is off until the user subscribes a browser.
 */
export const DEFAULT_CHANNEL_ENABLED: Record<ChannelName, boolean> = {
  sms: false,
  email: true,
  in_app: true,
  push: false,
};

/** A user's explicit choices, keyed `category:channel`. */
export type PreferenceMap = ReadonlyMap<string, boolean>;

export function preferenceKey(category: string, channel: ChannelName): string {
  return `${category}:${channel}`;
}

export function isChannelEnabled(prefs: PreferenceMap, category: string, channel: ChannelName): boolean {
  return prefs.get(preferenceKey(category, channel)) ?? DEFAULT_CHANNEL_ENABLED[channel];
}

/**
 * The preferences a 'channel'-gated type is decided with (catalog.ts `gatedBy`): each of its channels
 * counts as on in `category` when the user has it on in any category.
 */
export function channelWidePreferences(
  prefs: PreferenceMap,
  category: string,
  channels: readonly ChannelName[],
): PreferenceMap {
  const wide = new Map(prefs);
  for (const channel of channels) {
    wide.set(
      preferenceKey(category, channel),
      CATEGORIES.some((c) => isChannelEnabled(prefs, c, channel)),
    );
  }
  return wide;
}

export async function loadPreferences(q: Queryable, userId: number): Promise<PreferenceMap> {
  const rows = await q
    .select({
      category: notificationPreferences.category,
      channel: notificationPreferences.channel,
      enabled: notificationPreferences.enabled,
    })
    .from(notificationPreferences)
    .where(eq(notificationPreferences.userId, userId));
  return new Map(rows.map((r) => [preferenceKey(r.category, r.channel as ChannelName), r.enabled]));
}
