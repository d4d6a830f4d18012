import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import type { RunningApp } from '../../src/app.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import {
  PgSendRate,
  RateLimitedSmsChannel,
  type RateLimits,
  type Take,
  takeToken,
} from '../../src/channels/sms/send-rate.ts';
import { type Database, openDatabase, queryRows } from '../../src/db/database.ts';
import type { DeliveryWorker } from '../../src/deliveries/worker.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { smsUser, startSmsApp } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, silentLogger, type TestDatabase } from '../helpers/test-db.ts';
import { makeWorker } from '../helpers/workers.ts';

describe('token bucket maths (pure)', () => {
  const limits = { perSecond: 50, burst: 50, maxWaitMs: 10_000 };
  test('an empty bucket reserves ahead: the k-th token of a burst waits k/rate', () => {
    let bucket = { tokens: 0, refilledAtMs: 0 };
    const waits: number[] = [];
    for (let k = 0; k < 5; k++) {
      const take = takeToken(bucket, 0, limits);
      assert.ok(take.granted);
      bucket = take.bucket;
      waits.push(take.waitMs);
    }
    assert.deepEqual(waits, [20, 40, 60, 80, 100]);
  });
  test('idle time refills up to the burst, no further', () => {
    const take = takeToken({ tokens: 0, refilledAtMs: 0 }, 60_000, limits);
    assert.ok(take.granted && take.waitMs === 0 && take.bucket.tokens === 49);
  });
  test('a reservation further ahead than maxWaitMs is refused with the time to come back', () => {
    const take = takeToken({ tokens: -500, refilledAtMs: 0 }, 0, limits);
    assert.deepEqual(take, { granted: false, retryInMs: 20 });
  });
});

/** A bucket that records the instant each grant was scheduled for, in the database's clock: the
 * reservation time (`refilledAtMs` is the `clock_timestamp()` the take ran at) plus the wait. */
class RecordingSendRate extends PgSendRate {
  readonly reserved: number[] = [];
  override async take(sender: string): Promise<Take> {
    const take = await super.take(sender);
    if (take.granted) this.reserved.push(take.bucket.refilledAtMs + take.waitMs);
    return take;
  }
}

/**
 * What takeToken guarantees, asserted on the granted schedule rather than on arrival times (which
 * a loaded machine bunches). In GCRA terms each grant i has a theoretical instant D_i = now_i −
 * tokens_i/rate; takeToken makes D_{i+1} ≥ D_i + 1/rate and schedules s_i = max(now_i, D_i), which
 * lies in [D_i, D_i + (burst − 1)/rate]. So any k grants inside a window of W seconds satisfy
 * (k − 1)/rate < W + (burst − 1)/rate, i.e. k < burst + rate·W, and n grants span at least
 * (n − burst)/rate. The ≤ and the 1 ms allow for float and millisecond rounding only.
 */
function assertPaced(instants: number[], limits: RateLimits): void {
  const times = [...instants].sort((a, b) => a - b);
  let busiest = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= 1000) j++;
    busiest = Math.max(busiest, i - j + 1);
  }
  const bound = limits.burst + limits.perSecond;
  assert.ok(busiest <= bound, `${busiest} reservations in one second (bound ${bound})`);
  const span = times.at(-1)! - times[0]!;
  const least = ((times.length - limits.burst) / limits.perSecond) * 1000;
  assert.ok(span >= least - 1, `${times.length} reservations span ${span} ms (at least ${least} ms)`);
}

// Several workers on separate connections sharing one bucket: PostgreSQL is the scale-out engine.
describe(`send rate across workers (${ENGINE})`, { skip: ENGINE !== 'postgres' && 'PostgreSQL only' }, () => {
  const RATE = 50;
  const COUNT = 500;
  let t: TestDatabase;
  let app: RunningApp;
  const workers: DeliveryWorker[] = [];
  const connections: Database[] = [];
  const connect = async () => {
    const database = await openDatabase({ databaseUrl: t.url, dataDir: 'unused', logger: silentLogger });
    connections.push(database);
    return database;
  };
  before(async () => {
    t = await createTestDatabase();
    app = await startSmsApp(t);
    // The app's own worker would not pace; the test's workers do.
    await app.worker?.stop();
  });
  after(async () => {
    for (const w of workers) await w.stop();
    for (const c of connections) await c.close();
    await app.close();
    await t.close();
  });

  test('concurrent takes from three connections on one saved-up bucket are granted within the bound', async () => {
    const sender = '+15005550901';
    const limits = { perSecond: RATE, burst: 20, maxWaitMs: 60_000 };
    // Saved up to the burst, so the bound's burst term is exercised, not only the rate.
    await t.database.db.execute(
      sql`insert into sms_send_rate (sender, tokens, refilled_at) values (${sender}, ${limits.burst}, clock_timestamp())`,
    );
    const rates = await Promise.all(
      [0, 1, 2].map(async () => new RecordingSendRate((await connect()).db, limits)),
    );
    const takes = await Promise.all(
      rates.flatMap((rate) => Array.from({ length: 100 }, () => rate.take(sender))),
    );
    assert.ok(
      takes.every((take) => take.granted),
      'within maxWaitMs every take is granted',
    );
    assertPaced(
      rates.flatMap((rate) => rate.reserved),
      limits,
    );
  });

  test(`a burst of ${COUNT} SMS through three workers is reserved at ${RATE}/s and all arrive once`, async () => {
    const phone = '+919876522222';
    const user = await smsUser(t.database.db, 'rate-user', phone);
    const context = JSON.stringify(getNotificationType('order_confirmed')!.sampleContext);
    await t.database.db.execute(sql`
      with n as (
        insert into notifications (notification_id, user_id, type, category, priority, title, message, context)
        select 'ntf_rate_' || g, ${user.id}, 'order_confirmed', 'order_updates', 'critical', 't', 'm', ${context}::jsonb
        from generate_series(1, ${COUNT}) g returning id)
      insert into deliveries (notification_id, channel, status, max_attempts, next_attempt_at)
      select id, 'sms', 'queued', 4, now() from n`);
    const limits = { perSecond: RATE, burst: RATE, maxWaitMs: 10_000 };
    const rates: RecordingSendRate[] = [];
    for (let i = 0; i < 3; i++) {
      const database = await connect();
      const rate = new RecordingSendRate(database.db, limits);
      rates.push(rate);
      const channel = new RateLimitedSmsChannel(app.sms.channel!, rate, app.sms.from!, 10_000);
      const worker = makeWorker(database, [channel], { workerId: `rate-${i}`, leaseMs: 60_000 });
      workers.push(worker);
      await worker.start();
    }
    const received = () =>
      app.sms.sandbox!.messages().filter((m) => m.to === phone && m.direction !== 'inbound');
    await waitFor(async () => received().length >= COUNT, 60_000, `${COUNT} messages at the sandbox`);
    const row = await waitFor(
      async () => {
        const [r] = await queryRows<{ n: number; a: number }>(
          t.database.db,
          sql`select count(*)::int as n, max(attempts) as a from deliveries
            where channel = 'sms' and status in ('sent', 'delivered')`,
        );
        return Number(r?.n) === COUNT && r;
      },
      10_000,
      'every outcome written',
    );
    assert.equal(Number(row?.a), 1, 'each delivery sent in one attempt');
    assert.equal(received().length, COUNT, 'every message arrives once');
    const reserved = rates.flatMap((rate) => rate.reserved);
    assert.equal(reserved.length, COUNT, 'one token per message, none reserved twice');
    assertPaced(reserved, limits);
  });
});
