import { sql } from 'drizzle-orm';
import type { ChannelName } from '../../src/catalog/catalog.ts';
import type { Channel, DeliveryJob, SendResult } from '../../src/channels/channel.ts';
import type { Database } from '../../src/db/database.ts';
import { type RetryPolicy, retryPolicies } from '../../src/deliveries/retry-policy.ts';
import { DeliveryWorker, type WorkerOptions } from '../../src/deliveries/worker.ts';
import { createLogger } from '../../src/logger.ts';
import { testConfig } from './fixtures.ts';
import { silentLogger } from './test-db.ts';

export function makeWorker(
  database: Database,
  channels: Channel[],
  overrides: Partial<WorkerOptions> & { policy?: RetryPolicy } = {},
): DeliveryWorker {
  const all = (n: number) => ({ in_app: n, sms: n, email: n, push: n }) as Record<ChannelName, number>;
  const policies = retryPolicies(testConfig());
  if (overrides.policy) for (const c of channels) policies[c.name] = overrides.policy;
  return new DeliveryWorker({
    database,
    channels,
    concurrency: all(20),
    timeoutsMs: all(5_000),
    retryPolicies: policies,
    batchSize: 50,
    pollMs: 50,
    leaseMs: 30_000,
    shutdownGraceMs: 5_000,
    logger: process.env['TEST_LOG'] ? createLogger('debug') : silentLogger,
    ...overrides,
  });
}

/** A channel whose answers the test scripts, recording every job it was handed. */
export class ScriptedChannel implements Channel {
  readonly name: ChannelName;
  readonly calls: DeliveryJob[] = [];
  readonly #answer: (job: DeliveryJob, signal: AbortSignal) => Promise<SendResult> | SendResult;

  constructor(
    name: ChannelName,
    answer: (job: DeliveryJob, signal: AbortSignal) => Promise<SendResult> | SendResult,
  ) {
    this.name = name;
    this.#answer = answer;
  }

  async send(job: DeliveryJob, signal: AbortSignal): Promise<SendResult> {
    this.calls.push(job);
    return this.#answer(job, signal);
  }
}

/** Bulk-insert `count` notifications with one queued in-app delivery each (no application code). */
export async function seedQueuedDeliveries(
  database: Database,
  count: number,
  channel: ChannelName = 'in_app',
) {
  await database.db.execute(sql`insert into users (external_id) values ('bulk-user') on conflict do nothing`);
  await database.db.execute(sql`
    with n as (
      insert into notifications (notification_id, user_id, type, category, priority, title, message)
      select 'ntf_bulk_' || g || '_' || md5(random()::text), (select id from users where external_id = 'bulk-user'),
             'order_confirmed', 'order_updates', 'critical', 'title', 'message'
      from generate_series(1, ${count}) g
      returning id
    )
    insert into deliveries (notification_id, channel, status, max_attempts, next_attempt_at)
    select id, ${channel}, 'queued', 3, now() from n`);
}
