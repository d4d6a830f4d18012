import { sql } from 'drizzle-orm';
import type { ChannelName, RecipientProfile } from '../channels/channel.ts';
import { type Queryable, queryRows } from '../db/database.ts';
import { type QuietHoursRow, quietWindowOf } from '../preferences/delivery-policy.ts';
import type { QuietWindow } from '../preferences/quiet-hours.ts';
import { type PreferenceMap, preferenceKey } from './preferences.ts';

/** Everything notification creation needs to know about its recipient. */
export interface Recipient {
  user: RecipientProfile & { id: number };
  prefs: PreferenceMap;
  /** Their own quiet hours, else `fallback`; null: none. */
  quietHours: QuietWindow | null;
  /** At least one browser subscribed to Web Push. */
  hasPushSubscription: boolean;
}

/** A user's profile columns as SQL returns them (recipient loads and claims). */
export interface ProfileColumns {
  external_id: string;
  email: string | null;
  phone: string | null;
  first_name: string | null;
  last_name: string | null;
  locale: string;
  time_zone: string;
}

export function profileFromColumns(c: ProfileColumns): RecipientProfile {
  return {
    externalId: c.external_id,
    email: c.email,
    phone: c.phone,
    firstName: c.first_name,
    lastName: c.last_name,
    locale: c.locale,
    timeZone: c.time_zone,
  };
}

interface RecipientRow extends ProfileColumns {
  id: string | number;
  prefs: Array<[string, ChannelName, boolean]>;
  quiet: QuietHoursRow | null;
  has_push: boolean;
}

/**
 * Each user, their channel choices, quiet hours and whether they have a push subscription, for
 * any number of users in ONE call (lc_load_recipients; live body in src/db/schema.sql): a single
 * create reads one, a batch all of its users, and four lookups each would cost four round trips
 * per notification. Keyed by external id; an unknown id has no entry.
 */
export async function loadRecipients(
  q: Queryable,
  externalIds: readonly string[],
  fallbackQuietHours: QuietWindow | null,
): Promise<Map<string, Recipient>> {
  const rows = await queryRows<RecipientRow>(
    q,
    sql`select * from lc_load_recipients(${JSON.stringify([...new Set(externalIds)])}::jsonb)`,
  );
  return new Map(
    rows.map((row) => [
      row.external_id,
      {
        user: { id: Number(row.id), ...profileFromColumns(row) },
        prefs: new Map(
          row.prefs.map(([category, channel, enabled]) => [preferenceKey(category, channel), enabled]),
        ),
        quietHours: quietWindowOf(row.quiet ?? undefined, fallbackQuietHours),
        hasPushSubscription: row.has_push,
      },
    ]),
  );
}
