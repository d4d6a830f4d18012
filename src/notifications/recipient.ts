import { sql } from 'drizzle-orm';
import type { ChannelName } from '../catalog/catalog.ts';
import type { RecipientProfile } from '../channels/channel.ts';
import { type Queryable, queryRows } from '../db/database.ts';
import { type ProfileColumns, profileFromColumns } from '../deliveries/profile-columns.ts';
import { type QuietHoursRow, quietWindowOf } from '../preferences/delivery-policy.ts';
import { type PreferenceMap, preferenceKey } from '../preferences/preference-map.ts';
import type { QuietWindow } from '../preferences/quiet-hours.ts';

/** Everything notification creation needs to know about its recipient. */
export interface Recipient {
  user: RecipientProfile & { id: number };
  prefs: PreferenceMap;
  /** Their own quiet hours, else `fallback`; null: none. */
  quietHours: QuietWindow | null;
  /** At least one browser subscribed to Web Push. */
  hasPushSubscription: boolean;
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
