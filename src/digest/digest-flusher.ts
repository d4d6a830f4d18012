/**
 * Digests: email deliveries of digest-priority notifications are created queued with no attempt
 * time (held, never claimed; see preferences/quiet-hours.ts). Once a user's oldest held one is
 * older than the window, all of theirs are collected in one transaction: the newest becomes the
 * carrier (due now, the list in `details.digest_items`), the others are skipped as `digested`.
 * The worker then sends the carrier like any delivery, so retries and history still apply.
 */
import { sql } from 'drizzle-orm';
import { type Clock, systemClock } from '../clock.ts';
import { type Db, queryRows } from '../db/database.ts';
import { DELIVERIES_CHANNEL } from '../deliveries/enqueue.ts';
import { fromGuard, onlyFrom, TRANSITIONS } from '../deliveries/state-machine.ts';
import type { Logger } from '../logger.ts';
import { notificationLink } from '../notifications/notification-link.ts';
import type { DigestItem } from './digest-email.ts';

const HELD = sql`${fromGuard(sql`d.status`, 'digest_release')} and d.next_attempt_at is null and d.channel = 'email'
  and n.priority = 'digest'`;

interface HeldRow {
  id: string;
  notification_id: string;
  type: string;
  title: string;
  message: string;
  context: Record<string, unknown>;
  created_at: string | Date;
}

/** Collect every user's due digest; returns how many digests were started. */
export async function flushDigests(db: Db, opts: { windowMs: number; now?: Date }): Promise<number> {
  const cutoff = new Date((opts.now ?? new Date()).getTime() - opts.windowMs).toISOString();
  const due = await queryRows<{ user_id: string }>(
    db,
    sql`select n.user_id from deliveries d join notifications n on n.id = d.notification_id
        where ${HELD} group by n.user_id having min(n.created_at) <= ${cutoff}::timestamptz limit 500`,
  );
  let started = 0;
  for (const { user_id } of due) {
    if (await collectUserDigest(db, Number(user_id))) started++;
  }
  return started;
}

async function collectUserDigest(db: Db, userId: number): Promise<boolean> {
  return db.transaction(async (tx) => {
    const held = await queryRows<HeldRow>(
      tx,
      sql`select d.id, n.notification_id, n.type, n.title, n.message, n.context, n.created_at
          from deliveries d join notifications n on n.id = d.notification_id
          where n.user_id = ${userId} and ${HELD}
          order by d.id for update of d skip locked`,
    );
    const carrier = held.at(-1);
    if (!carrier) return false;
    const items: DigestItem[] = held.map((h) => ({
      notification_id: h.notification_id,
      type: h.type,
      title: h.title,
      message: h.message,
      link: notificationLink(h.type, h.context),
      created_at: new Date(h.created_at).toISOString(),
    }));
    // The carrier stays queued but is made due: the state machine's digest_release (queued → queued).
    await tx.execute(sql`update deliveries set status = ${TRANSITIONS.digest_release.to},
        next_attempt_at = now(), updated_at = now(),
        details = coalesce(details, '{}'::jsonb) || ${JSON.stringify({ digest_items: items })}::jsonb
      where id = ${carrier.id} and ${fromGuard(sql`status`, 'digest_release')}`);
    const others = held.slice(0, -1).map((h) => h.id);
    const reason = `Sent in one digest email with ${held.length - 1} other notification(s) (delivery ${carrier.id})`;
    if (others.length > 0) {
      await tx.execute(sql`with skipped as (
          update deliveries set status = ${TRANSITIONS.digest_merge.to}, skip_reason = 'digested',
                 error_message = ${reason}, updated_at = now()
          where id = any(${`{${others.join(',')}}`}::bigint[]) and ${fromGuard(sql`status`, 'digest_merge')}
          returning id)
        insert into delivery_status_history (delivery_id, from_status, to_status, detail)
        select id, ${onlyFrom('digest_merge')}, ${TRANSITIONS.digest_merge.to}, ${reason} from skipped`);
    }
    await tx.execute(sql`insert into delivery_status_history (delivery_id, from_status, to_status, detail)
      values (${carrier.id}, ${onlyFrom('digest_release')}, ${TRANSITIONS.digest_release.to},
              ${`digest of ${held.length} notification(s) due now`})`);
    await tx.execute(sql`select pg_notify(${DELIVERIES_CHANNEL}, 'email')`);
    return true;
  });
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
