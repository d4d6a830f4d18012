/**
 * Digests: email deliveries of digest-priority notifications are created queued with no attempt
 * time (held, never claimed; see preferences/quiet-hours.ts). Once a user's oldest held one is
 * older than the window, all of theirs are collected in one transaction: the newest becomes the
 * carrier (due now, the list in `details.digest_items`), the others are skipped as `digested`.
 * The worker then sends the carrier like any delivery, so retries and history still apply. This
 * file decides when and what an item shows; the statements are deliveries/digest-merge.ts.
 */
import { type Clock, systemClock } from '../clock.ts';
import type { Db } from '../db/database.ts';
import { type HeldDigestRow, mergeUserDigest, usersWithDueDigest } from '../deliveries/digest-merge.ts';
import type { Logger } from '../logger.ts';
import { notificationLink } from '../templates/notification-link.ts';
import type { DigestItem } from './digest-email.ts';

/** Collect every user's due digest; returns how many digests were started. */
export async function flushDigests(db: Db, opts: { windowMs: number; now?: Date }): Promise<number> {
  const now = opts.now ?? new Date();
  const cutoff = new Date(now.getTime() - opts.windowMs);
  let started = 0;
  for (const userId of await usersWithDueDigest(db, cutoff)) {
    if (await mergeUserDigest(db, userId, digestItem, now)) started++;
  }
  return started;
}

/** What the digest email lists of one held notification. */
async function digestItem(h: HeldDigestRow): Promise<DigestItem> {
  return {
    notification_id: h.notification_id,
    type: h.type,
    title: h.title,
    message: h.message,
    link: await notificationLink(h.type, h.context),
    created_at: new Date(h.created_at).toISOString(),
  };
}

/** Runs the flush a few times per window in worker processes; returns the stop function. */
export function startDigestScheduler(
  db: Db,
  windowMs: number,
  logger: Logger,
  clock: Clock = systemClock,
): () => Promise<void> {
  const intervalMs = Math.min(Math.max(windowMs / 10, 1_000), 60_000);
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  // On the clock: a digest falls due a window after its oldest held notification, by that clock.
  let cancel = () => {};
  const arm = () => {
    cancel = clock.setTimeout(() => {
      if (stopped) return;
      arm();
      running = flushDigests(db, { windowMs, now: new Date(clock.now()) })
        .then((n) => n > 0 && logger.info({ digests: n }, 'digests collected'))
        .catch((err: Error) => logger.warn({ err }, 'digest flush failed; will retry'));
    }, intervalMs);
  };
  arm();
  return async () => {
    stopped = true;
    cancel();
    await running;
  };
}
