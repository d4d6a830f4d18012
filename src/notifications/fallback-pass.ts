import { type ChannelName, getNotificationType, NOTIFICATION_TYPES } from '../catalog/catalog.ts';
import { type Clock, systemClock } from '../clock.ts';
import {
  createFallbackDeliveries,
  databaseNowUs,
  type FallbackCandidate,
  findFallbackCandidates,
  type NewFallback,
} from '../deliveries/fallback-deliveries.ts';
import { failedForGood, fallbackScope, nextFallbackChannel } from '../deliveries/fallback-rule.ts';
import { countSmsSince } from '../deliveries/read-deliveries.ts';
import type { Logger } from '../logger.ts';
import { smsCapCounted } from '../preferences/delivery-policy.ts';
import { capPeriodStarts } from '../preferences/sms-caps.ts';
import type { CreateNotificationDeps } from './create-notification.ts';
import { decideDeliveries } from './decide-notification.ts';
import { loadRecipients, type Recipient } from './recipient.ts';

/**
 * The fallback rule (issue 18, rule 2; docs/architecture.md#fallback): a delivery of a type with
 * `rules.fallback` that failed for good (deliveries/fallback-rule.ts) gets one delivery on the next
 * channel of the list, decided like any at creation (the user's preference for that channel and
 * category, the address, quiet hours, the SMS cap) and written with the link in both timelines
 * (deliveries/fallback-deliveries.ts).
 *
 * A pass reads the failures since its bookmark, a `failed_at` of the database's clock kept in
 * memory. It re-reads the last SETTLE_US behind it, because a failure stamped before the bookmark
 * may commit after the read; a new process starts LOOKBACK_US back, so failures while no worker ran
 * still fall back (older ones are news gone stale). Neither costs a double: a handled delivery
 * carries details.fallback_to and is no longer read, and the write is guarded and unique.
 */

/** Failures stamped this long before a read may still commit after it (statements time out at 30 s). */
const SETTLE_US = 60_000_000n;
/** How far back a new process looks: a fallback more than an hour late is about a moved-on order. */
const LOOKBACK_US = 3_600_000_000n;
const PAGE = 500;

export class FallbackPass {
  readonly #deps: CreateNotificationDeps;
  readonly #scope = fallbackScope(NOTIFICATION_TYPES);
  /** failed_at (µs, the database's clock) up to which every failure was read; null: not yet. */
  #bookmarkUs: bigint | null = null;

  constructor(deps: CreateNotificationDeps) {
    this.#deps = deps;
  }

  /** One pass: every failure since the bookmark read and, where the rule says so, fallen back. Returns how many fallbacks it created. */
  async run(): Promise<number> {
    if (this.#scope.types.length === 0) return 0;
    const db = this.#deps.db;
    const readAt = BigInt(await databaseNowUs(db));
    let afterUs = (this.#bookmarkUs ?? readAt - LOOKBACK_US) - SETTLE_US;
    let afterId = 0;
    let created = 0;
    for (;;) {
      const page = await findFallbackCandidates(db, {
        afterUs: String(afterUs),
        afterId,
        ...this.#scope,
        limit: PAGE,
      });
      created += (await createFallbackDeliveries(db, await this.#decide(page))).length;
      if (page.length < PAGE) break;
      afterUs = BigInt(page.at(-1)!.failedAtUs);
      afterId = page.at(-1)!.id;
    }
    this.#bookmarkUs = readAt;
    return created;
  }

  /** Each candidate that failed for good and has a channel left: its fallback, decided for its user now. */
  async #decide(page: readonly FallbackCandidate[]): Promise<NewFallback[]> {
    const wanted = page.flatMap((c) => {
      const def = getNotificationType(c.type);
      if (!def || !failedForGood(c.channel, c.errorCode)) return [];
      const channel = nextFallbackChannel(def.rules?.fallback, c.channel, c.present);
      return channel ? [{ c, def, channel }] : [];
    });
    if (wanted.length === 0) return [];
    const deps = this.#deps;
    const recipients = await loadRecipients(
      deps.db,
      wanted.map((w) => w.c.userExternalId),
      deps.policy?.defaultQuietHours ?? null,
    );
    const now = deps.now?.() ?? new Date();
    const out: NewFallback[] = [];
    for (const { c, def, channel } of wanted) {
      const recipient = recipients.get(c.userExternalId);
      if (!recipient) continue;
      const [decided] = decideDeliveries(
        deps,
        def,
        recipient,
        [channel],
        await this.#smsSent(channel, def.priority, recipient, now),
        now,
      );
      out.push({
        ...decided!,
        failedId: c.id,
        event: decided!.status === 'queued' ? 'fallback_queued' : 'fallback_skipped',
      });
    }
    return out;
  }

  /** An SMS fallback counts against the user's caps like any SMS (only when they apply). */
  async #smsSent(
    channel: ChannelName,
    priority: Parameters<typeof smsCapCounted>[1],
    recipient: Recipient,
    now: Date,
  ) {
    if (channel !== 'sms' || !smsCapCounted(this.#deps.policy, priority, !!recipient.user.phone)) return;
    return countSmsSince(this.#deps.db, recipient.user.id, capPeriodStarts(now, recipient.user.timeZone));
  }
}

/**
 * Runs a pass at start and every `intervalMs` of the clock (a fallback goes out within one interval
 * of the failure; a test steps its clock to run one). One pass at a time. Returns the stop
 * function, which waits for a pass under way.
 */
export function startFallbackPass(o: {
  deps: CreateNotificationDeps;
  intervalMs: number;
  logger: Pick<Logger, 'warn' | 'info'>;
  clock?: Clock;
}): () => Promise<void> {
  const clock = o.clock ?? systemClock;
  const pass = new FallbackPass(o.deps);
  let running: Promise<unknown> | undefined;
  let stopped = false;
  let cancel = () => {};
  const run = () => {
    // A pass still under way when the next is due covers it: it reads up to its own start.
    running ??= pass
      .run()
      .then((n) => n > 0 && o.logger.info({ fallbacks: n }, 'fallback deliveries created'))
      .catch((err: Error) => o.logger.warn({ err }, 'fallback pass failed; will retry'))
      .finally(() => {
        running = undefined;
      });
  };
  const arm = () => {
    cancel = clock.setTimeout(() => {
      if (stopped) return;
      arm();
      run();
    }, o.intervalMs);
  };
  run();
  arm();
  return async () => {
    stopped = true;
    cancel();
    await running;
  };
}
