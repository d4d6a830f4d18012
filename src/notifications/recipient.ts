import { sql } from 'drizzle-orm';
import type { ChannelName } from '../channels/channel.ts';
import { type Queryable, queryRows } from '../db/database.ts';
import { type QuietHoursRow, quietWindowOf } from '../preferences/delivery-policy.ts';
import type { QuietWindow } from '../preferences/quiet-hours.ts';
import { type PreferenceMap, preferenceKey } from './preferences.ts';

/** Everything notification creation needs to know about its recipient. */
export interface Recipient {
  user: {
    id: number;
    externalId: string;
    email: string | null;
    phone: string | null;
    firstName: string | null;
    lastName: string | null;
    locale: string;
    timeZone: string;
  };
  prefs: PreferenceMap;
  /** Their own quiet hours, else `fallback`; null: none. */
  quietHours: QuietWindow | null;
  /** At least one browser subscribed to Web Push. */
  hasPushSubscription: boolean;
}

interface RecipientRow {
  id: string | number;
  external_id: string;
  email: string | null;
  phone: string | null;
  first_name: string | null;
  last_name: string | null;
  locale: string;
  time_zone: string;
  prefs: Array<[string, ChannelName, boolean]>;
  quiet: QuietHoursRow | null;
  has_push: boolean;
}

/**
 * The user, their channel choices, quiet hours and whether they have a push subscription, in ONE
 * statement: it runs for every notification, so four lookups cost four round trips on the hot path.
 */
export async function loadRecipient(
  q: Queryable,
  externalId: string,
  fallbackQuietHours: QuietWindow | null,
): Promise<Recipient | undefined> {
  const [row] = await queryRows<RecipientRow>(
    q,
    sql`select u.id, u.external_id, u.email, u.phone, u.first_name, u.last_name, u.locale, u.time_zone,
      coalesce((select jsonb_agg(jsonb_build_array(p.category, p.channel, p.enabled))
                from notification_preferences p where p.user_id = u.id), '[]'::jsonb) as prefs,
      (select jsonb_build_object('quietHoursStart', s.quiet_hours_start, 'quietHoursEnd', s.quiet_hours_end)
       from notification_settings s where s.user_id = u.id) as quiet,
      exists (select 1 from push_subscriptions ps where ps.user_id = u.id) as has_push
    from users u where u.external_id = ${externalId}`,
  );
  if (!row) return undefined;
  return {
    user: {
      id: Number(row.id),
      externalId: row.external_id,
      email: row.email,
      phone: row.phone,
      firstName: row.first_name,
      lastName: row.last_name,
      locale: row.locale,
      timeZone: row.time_zone,
    },
    prefs: new Map(
      row.prefs.map(([category, channel, enabled]) => [preferenceKey(category, channel), enabled]),
    ),
    quietHours: quietWindowOf(row.quiet ?? undefined, fallbackQuietHours),
    hasPushSubscription: row.has_push,
  };
}
