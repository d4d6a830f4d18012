/**
 * The flat field names of the preferences API (pure): the seed's `order_updates_sms` style, one
 * boolean per category × channel, plus quiet hours and the time zone.
 */

import { CATEGORIES, type Category, CHANNELS, type ChannelName } from '../catalog/catalog.ts';
import { AppError } from '../errors.ts';
import { isTimeZone } from '../time-zone.ts';
import { isChannelEnabled, type PreferenceMap } from './preference-map.ts';
import { isHhMm, type QuietWindow } from './quiet-hours.ts';

export interface FlagField {
  category: Category;
  channel: ChannelName;
}

export const FLAG_FIELDS: ReadonlyMap<string, FlagField> = new Map(
  CATEGORIES.flatMap((category) =>
    CHANNELS.map((channel) => [`${category}_${channel}`, { category, channel }] as const),
  ),
);

const SETTING_FIELDS = ['quiet_hours_start', 'quiet_hours_end', 'time_zone'] as const;
export const ACCEPTED_FIELDS: readonly string[] = [...FLAG_FIELDS.keys(), ...SETTING_FIELDS];

export interface PreferencePatch {
  flags: Array<FlagField & { enabled: boolean }>;
  /** undefined: unchanged; null: quiet hours off. */
  quietHours?: QuietWindow | null;
  timeZone?: string;
}

function invalid(field: string, message: string): never {
  throw new AppError('VALIDATION_FAILED', `${field}: ${message}`, { errors: [{ field, message }] });
}

/**
 * Parse a PATCH body. Unknown fields are refused by name (a typo such as `order_update_sms` must not
 * silently do nothing). One quiet-hours bound alone keeps the other one from `current`.
 */
export function parsePreferencePatch(body: unknown, current: QuietWindow | null): PreferencePatch {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AppError('VALIDATION_FAILED', 'The body must be a JSON object of preference fields');
  }
  const entries = Object.entries(body);
  const unknown = entries.map(([k]) => k).filter((k) => !ACCEPTED_FIELDS.includes(k));
  if (unknown.length > 0) {
    throw new AppError('VALIDATION_FAILED', `Unknown preference field(s): ${unknown.join(', ')}`, {
      unknown_fields: unknown,
      accepted: ACCEPTED_FIELDS,
    });
  }
  const patch: PreferencePatch = { flags: [] };
  const values = new Map(entries);
  for (const [name, value] of entries) {
    const flag = FLAG_FIELDS.get(name);
    if (!flag) continue;
    if (typeof value !== 'boolean') invalid(name, 'must be true or false');
    patch.flags.push({ ...flag, enabled: value });
  }
  const tz = values.get('time_zone');
  if (tz !== undefined) {
    if (typeof tz !== 'string' || !isTimeZone(tz))
      invalid('time_zone', 'must be an IANA time zone such as Asia/Kolkata');
    patch.timeZone = tz;
  }
  if (values.has('quiet_hours_start') || values.has('quiet_hours_end')) {
    const bound = (field: 'quiet_hours_start' | 'quiet_hours_end', fallback: string | undefined) => {
      const v = values.has(field) ? values.get(field) : fallback;
      if (v === null || v === undefined) return null;
      if (typeof v !== 'string' || !isHhMm(v)) invalid(field, 'must be a time "HH:MM" (24-hour) or null');
      return v;
    };
    const start = bound('quiet_hours_start', current?.start);
    const end = bound('quiet_hours_end', current?.end);
    if ((start === null) !== (end === null)) {
      invalid('quiet_hours_start', 'set both quiet_hours_start and quiet_hours_end, or both to null');
    }
    patch.quietHours = start && end ? { start, end } : null;
  }
  return patch;
}

export interface PreferenceView {
  user_id: string;
  [field: string]: boolean | string | null;
}

/** The GET answer: every flag with its effective value (explicit choice or default), then settings. */
export function preferenceView(
  userId: string,
  prefs: PreferenceMap,
  quietHours: QuietWindow | null,
  timeZone: string,
): PreferenceView {
  const view: PreferenceView = { user_id: userId };
  for (const [name, { category, channel }] of FLAG_FIELDS) {
    view[name] = isChannelEnabled(prefs, category, channel);
  }
  view['quiet_hours_start'] = quietHours?.start ?? null;
  view['quiet_hours_end'] = quietHours?.end ?? null;
  view['time_zone'] = timeZone;
  return view;
}
