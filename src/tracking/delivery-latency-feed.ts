import type { SmsRouter } from '../channels/sms/routing/sms-router.ts';
import type { Queryable } from '../db/database.ts';
import { deliveredSmsAfter, latestHistoryId } from '../deliveries/delivered-latencies.ts';
import type { Logger } from '../logger.ts';

const PAGE = 1000;

/**
 * Feed the router each delivered SMS's sent → delivered time (GOV.UK Notify's slow-delivery rule
 * needs them). Read from the database, not from the receipt as it arrives: receipts reach whichever
 * API node Twilio or Vonage called, while the router that chooses lives in each worker.
 * Returns the bookmark to read on from.
 */
export async function feedDeliveryLatencies(
  q: Queryable,
  router: SmsRouter,
  providers: readonly string[],
  afterId: string,
): Promise<string> {
  let after = afterId;
  for (;;) {
    const rows = await deliveredSmsAfter(q, after, PAGE);
    for (const r of rows) {
      if (providers.includes(r.provider)) router.recordDelivered(r.provider, r.sentMs, r.deliveredMs);
    }
    if (rows.length > 0) after = rows.at(-1)!.historyId;
    if (rows.length < PAGE) return after;
  }
}

/** Feeds every `intervalMs` (a worker's chore); returns the stop function. */
export function startDeliveryLatencyFeed(o: {
  db: Queryable;
  router: SmsRouter;
  providers: readonly string[];
  intervalMs: number;
  logger: Pick<Logger, 'warn'>;
}): () => Promise<void> {
  let after: string | undefined;
  let running: Promise<unknown> | undefined;
  const poll = () => {
    // One poll at a time: two from one bookmark would count each delivery twice.
    running ??= (async () => {
      after = await feedDeliveryLatencies(
        o.db,
        o.router,
        o.providers,
        after ?? (await latestHistoryId(o.db)),
      );
    })()
      .catch((err: Error) => o.logger.warn({ err }, 'SMS delivery latency feed failed; will retry'))
      .finally(() => {
        running = undefined;
      });
  };
  poll();
  const timer = setInterval(poll, o.intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
