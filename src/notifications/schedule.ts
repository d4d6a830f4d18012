/**
 * Scheduled and delayed sends, and the cancel key (issue 18, delivery-rules.ts): when a
 * notification is asked to go out (`send_at`: an instant, or a wall time in the recipient's zone;
 * else the type's `delayMinutes` after now) and the key that may cancel it while it waits (the
 * request's `cancel_key`, else the value at the type's `cancelKey` context path). Pure.
 */
import type { NotificationTypeDef } from '../catalog/catalog.ts';
import { RULE_LIMITS } from '../catalog/delivery-rules.ts';
import { AppError } from '../errors.ts';
import { localDateTimeInstant } from '../time-zone.ts';

/** An ISO instant with its offset (`2027-01-18T08:00:00+05:30`), or a wall time in the recipient's zone. */
export type SendAtInput = string | { local: string };

/** A send time this far in the past is taken as "now": the caller's clock may run a little behind ours. */
export const SEND_AT_GRACE_MS = 60_000;
/** The furthest ahead a send may be asked for: the same bound as a type's delay. */
export const SEND_AT_MAX_AHEAD_MS = RULE_LIMITS.delayMinutes * 60_000;

export interface Schedule {
  /** When the notification is to go out; null: at once (as before rules existed). */
  sendAt: Date | null;
  cancelKey: string | null;
  /** The first history line of its queued deliveries ("scheduled for …"), or null. */
  detail: string | null;
}

function refuse(message: string): never {
  throw new AppError('VALIDATION_FAILED', `send_at: ${message}`, {
    errors: [{ field: 'send_at', message }],
  });
}

/**
 * The requested send time as an instant, checked against `now`: not past (beyond the grace; a
 * time within it is now), not further ahead than SEND_AT_MAX_AHEAD_MS. A refusal is a 400 naming
 * `send_at`.
 */
export function resolveSendAt(spec: SendAtInput, timeZone: string, now: Date): Date {
  const local = typeof spec === 'string' ? undefined : spec.local;
  const at = local === undefined ? new Date(spec as string) : localDateTimeInstant(local, timeZone);
  // The route has checked the shape (LOCAL_DATE_TIME), so a local time that names no instant is no real date.
  if (!at) refuse(`"${local}" is not a real date and time`);
  if (Number.isNaN(at.getTime())) refuse(`"${String(spec)}" is not an ISO date-time`);
  const shown =
    typeof spec === 'string' ? at.toISOString() : `${spec.local} ${timeZone} (${at.toISOString()})`;
  if (at.getTime() < now.getTime() - SEND_AT_GRACE_MS) refuse(`${shown} is in the past`);
  if (at.getTime() > now.getTime() + SEND_AT_MAX_AHEAD_MS) {
    refuse(`${shown} is more than ${RULE_LIMITS.delayMinutes / 1440} days ahead`);
  }
  return at.getTime() < now.getTime() ? now : at;
}

/** The value at a dotted context path, as a key (strings and numbers only), or null. */
export function contextKey(context: Record<string, unknown>, path: string): string | null {
  let value: unknown = context;
  for (const part of path.split('.')) {
    if (!value || typeof value !== 'object' || !Object.hasOwn(value, part)) return null;
    value = (value as Record<string, unknown>)[part];
  }
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return typeof value === 'string' && value.trim() !== '' ? value : null;
}

/** A notification's schedule: an explicit send time wins over the type's delay. */
export function scheduleOf(
  def: NotificationTypeDef,
  input: {
    context: Record<string, unknown>;
    sendAt?: SendAtInput | undefined;
    cancelKey?: string | undefined;
  },
  timeZone: string,
  now: Date,
): Schedule {
  const delay = def.rules?.delayMinutes;
  const sendAt =
    input.sendAt !== undefined
      ? resolveSendAt(input.sendAt, timeZone, now)
      : delay
        ? new Date(now.getTime() + delay * 60_000)
        : null;
  const path = def.rules?.cancelKey;
  return {
    sendAt,
    cancelKey: input.cancelKey ?? (path ? contextKey(input.context, path) : null),
    detail: sendAt && `scheduled for ${sendAt.toISOString()}`,
  };
}

/** The first history line: the send time, and when quiet hours hold it past that. */
export function scheduledDetail(schedule: Schedule, due: Date | null): string | null {
  if (!schedule.detail) return null;
  return due && schedule.sendAt && due > schedule.sendAt
    ? `${schedule.detail}, due ${due.toISOString()} after quiet hours`
    : schedule.detail;
}
