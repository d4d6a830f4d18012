import { and, desc, eq, sql } from 'drizzle-orm';
import { CATEGORIES, type ChannelName } from '../catalog/catalog.ts';
import type { Db, Tx } from '../db/database.ts';
import {
  notificationPreferences,
  notificationSettings,
  notificationSettingsChanges,
  preferenceChanges,
  users,
} from '../db/schema.ts';
import { AppError } from '../errors.ts';
import { effectiveTimeZone } from '../user-time-zone.ts';
import { loadQuietHours } from './delivery-policy.ts';
import { type PreferenceView, parsePreferencePatch, preferenceView } from './preference-fields.ts';
import { isChannelEnabled, loadPreferences, type PreferenceMap, preferenceKey } from './preference-map.ts';
import type { QuietWindow } from './quiet-hours.ts';

/** Where a change came from, as recorded in preference_changes.source. */
export type ChangeSource = 'api' | 'stop_keyword' | 'start_keyword' | 'twilio_21610' | 'list_unsubscribe';

/** A user's SMS went from off in every category to on in at least one. */
export interface SmsOptIn {
  userId: number;
  /** The preference_changes row that turned SMS on: the opt-in's identity. */
  changeId: number;
}

/** Runs inside the transaction that opted the user in (notifications/sms-opt-in-confirmation.ts sends the confirmation). */
export type SmsOptInHook = (tx: Tx, optIn: SmsOptIn) => Promise<void>;

const smsOnSomewhere = (prefs: PreferenceMap) => CATEGORIES.some((c) => isChannelEnabled(prefs, c, 'sms'));

interface FlagChange {
  category: string;
  channel: ChannelName;
  enabled: boolean;
}

async function findUser(q: Db | Tx, externalId: string, lock = false) {
  const query = q.select().from(users).where(eq(users.externalId, externalId));
  const [user] = lock ? await query.for('update') : await query;
  if (!user) throw new AppError('USER_NOT_FOUND', `No user with id "${externalId}"`);
  return user;
}

/** Also inside a transaction (Tx), where an update reads the state before and after itself. */
export async function getPreferences(
  db: Db | Tx,
  externalId: string,
  defaultQuietHours: QuietWindow | null,
): Promise<PreferenceView> {
  const user = await findUser(db, externalId);
  const prefs = await loadPreferences(db, user.id);
  const quiet = await loadQuietHours(db, user.id, defaultQuietHours);
  return preferenceView(user.externalId, prefs, quiet, effectiveTimeZone(user).zone);
}

/**
 * Write the flags that differ from the user's effective value, and one preference_changes row for
 * each (who, from what, to what, by which route). Unchanged flags write nothing. When the changes
 * turn SMS on for a user who had it off everywhere, `onSmsOptIn` runs in the same transaction.
 */
export async function applyFlagChanges(
  tx: Tx,
  userId: number,
  wanted: readonly FlagChange[],
  record: { source: ChangeSource; actor: string | null; reason?: string | null },
  onSmsOptIn?: SmsOptInHook,
): Promise<number> {
  const prefs = await loadPreferences(tx, userId);
  const changes = wanted
    .map((w) => ({ ...w, from: isChannelEnabled(prefs, w.category, w.channel) }))
    .filter((c) => c.from !== c.enabled);
  if (changes.length === 0) return 0;
  await tx
    .insert(notificationPreferences)
    .values(changes.map((c) => ({ userId, category: c.category, channel: c.channel, enabled: c.enabled })))
    .onConflictDoUpdate({
      target: [
        notificationPreferences.userId,
        notificationPreferences.category,
        notificationPreferences.channel,
      ],
      set: { enabled: sql`excluded.enabled`, updatedAt: sql`now()` },
    });
  const recorded = await tx
    .insert(preferenceChanges)
    .values(
      changes.map((c) => ({
        userId,
        category: c.category,
        channel: c.channel,
        fromEnabled: c.from,
        toEnabled: c.enabled,
        source: record.source,
        actor: record.actor,
        reason: record.reason ?? null,
      })),
    )
    .returning({
      id: preferenceChanges.id,
      channel: preferenceChanges.channel,
      on: preferenceChanges.toEnabled,
    });
  const after = new Map(prefs);
  for (const c of changes) after.set(preferenceKey(c.category, c.channel), c.enabled);
  if (onSmsOptIn && !smsOnSomewhere(prefs) && smsOnSomewhere(after)) {
    const turnedOn = recorded.find((r) => r.channel === 'sms' && r.on)!;
    await onSmsOptIn(tx, { userId, changeId: turnedOn.id });
  }
  return changes.length;
}

/**
 * Runs inside an update's transaction with the user's preferences before and after it, so a caller
 * (the console's audit log) records the change exactly when it is made.
 */
export type PreferenceChangeHook = (tx: Tx, before: PreferenceView, after: PreferenceView) => Promise<void>;

/** PATCH: flags, quiet hours and time zone in one transaction; the user row is locked so concurrent
 * patches record accurate "from" values. */
export async function updatePreferences(
  db: Db,
  externalId: string,
  body: unknown,
  actor: string,
  defaultQuietHours: QuietWindow | null,
  onSmsOptIn?: SmsOptInHook,
  onChanged?: PreferenceChangeHook,
): Promise<PreferenceView> {
  await db.transaction(async (tx) => {
    const user = await findUser(tx, externalId, true);
    const before = onChanged && (await getPreferences(tx, externalId, defaultQuietHours));
    const currentQuiet = await loadQuietHours(tx, user.id, defaultQuietHours);
    const patch = parsePreferencePatch(body, currentQuiet);
    await applyFlagChanges(tx, user.id, patch.flags, { source: 'api', actor }, onSmsOptIn);
    const settingChanges: Array<{ field: string; fromValue: string | null; toValue: string | null }> = [];
    if (patch.quietHours !== undefined) {
      const next = patch.quietHours;
      await tx
        .insert(notificationSettings)
        .values({ userId: user.id, quietHoursStart: next?.start ?? null, quietHoursEnd: next?.end ?? null })
        .onConflictDoUpdate({
          target: notificationSettings.userId,
          set: {
            quietHoursStart: next?.start ?? null,
            quietHoursEnd: next?.end ?? null,
            updatedAt: sql`now()`,
          },
        });
      for (const key of ['start', 'end'] as const) {
        if (currentQuiet?.[key] !== next?.[key]) {
          settingChanges.push({
            field: `quiet_hours_${key}`,
            fromValue: currentQuiet?.[key] ?? null,
            toValue: next?.[key] ?? null,
          });
        }
      }
    }
    // Like the flags: only a zone other than the one in effect is written, so saving a form that
    // shows the phone's zone does not pin it as their own.
    const zoneBefore = effectiveTimeZone(user).zone;
    if (patch.timeZone !== undefined && patch.timeZone !== zoneBefore) {
      await tx
        .update(users)
        .set({ timeZone: patch.timeZone, updatedAt: sql`now()` })
        .where(eq(users.id, user.id));
      settingChanges.push({ field: 'time_zone', fromValue: zoneBefore, toValue: patch.timeZone });
    }
    if (settingChanges.length > 0) {
      await tx
        .insert(notificationSettingsChanges)
        .values(settingChanges.map((c) => ({ ...c, userId: user.id, source: 'api', actor })));
    }
    if (onChanged && before)
      await onChanged(tx, before, await getPreferences(tx, externalId, defaultQuietHours));
  });
  return getPreferences(db, externalId, defaultQuietHours);
}

/**
 * One-click unsubscribe (RFC 8058): email off for `categories`, recorded with source
 * `list_unsubscribe`. The user row is locked so a repeated POST records the change once.
 */
export async function unsubscribeFromEmail(
  db: Db,
  userId: number,
  categories: readonly string[],
): Promise<void> {
  await db.transaction(async (tx) => {
    const [user] = await tx.select({ id: users.id }).from(users).where(eq(users.id, userId)).for('update');
    if (!user) throw new AppError('USER_NOT_FOUND', 'The user this link was sent to no longer exists');
    const wanted = categories.map((category) => ({ category, channel: 'email' as const, enabled: false }));
    await applyFlagChanges(tx, user.id, wanted, { source: 'list_unsubscribe', actor: null });
  });
}

/**
 * START / UNSTOP: give back what the last opt-out took (the categories it switched off); a user
 * with nothing to restore (never opted in) gets SMS for every category, which is what texting
 * START asks for.
 */
export async function optInToSms(
  db: Db,
  userId: number,
  reason: string,
  onSmsOptIn?: SmsOptInHook,
): Promise<number> {
  return db.transaction(async (tx) => {
    // Serialised with a PATCH of the same user (which locks the row too), so one opt-in is seen once.
    await tx.select({ id: users.id }).from(users).where(eq(users.id, userId)).for('update');
    const history = await tx
      .select()
      .from(preferenceChanges)
      .where(and(eq(preferenceChanges.userId, userId), eq(preferenceChanges.channel, 'sms')))
      .orderBy(desc(preferenceChanges.id))
      .limit(100);
    const restore = new Set<string>();
    const seen = new Set<string>();
    for (const c of history) {
      if (seen.has(c.category)) continue;
      seen.add(c.category);
      if (c.source !== 'api' && c.source !== 'start_keyword' && c.fromEnabled) restore.add(c.category);
    }
    const categories = restore.size > 0 ? [...restore] : CATEGORIES;
    const wanted = categories.map((category) => ({ category, channel: 'sms' as const, enabled: true }));
    return applyFlagChanges(tx, userId, wanted, { source: 'start_keyword', actor: null, reason }, onSmsOptIn);
  });
}
