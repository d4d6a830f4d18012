import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { queryRows } from '../../src/db/database.ts';
import { deliveryTotals } from '../../src/stats/delivery-totals.ts';
import { sealStats } from '../../src/stats/stats-rollup.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';
import { type SeedDelivery, seed } from './fixture.ts';

// The rollup seals by the database's clock (slots over two hours old): rows placed from the real now.
const NOW = Date.now();
const ago = (minutes: number) => new Date(NOW - minutes * 60_000).toISOString();

const MIX: SeedDelivery[][] = [
  [
    { channel: 'sms', status: 'delivered', segments: 1, provider: 'twilio' },
    { channel: 'in_app', status: 'delivered' },
  ],
  [{ channel: 'sms', status: 'failed', errorCode: 'VONAGE_DLR_6', segments: 1, provider: 'vonage' }],
  [
    { channel: 'sms', status: 'skipped', skipReason: 'quiet_hours' },
    { channel: 'email', status: 'sent' },
  ],
  [{ channel: 'sms', status: 'sent', segments: 1, provider: 'vonage' }],
];

describe(`deliveries by channel × status × provider, for GET /metrics (${ENGINE})`, () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
    // Every 23 minutes over ten hours: most slots sealable, the last two hours not.
    await seed(
      t.database.db,
      Array.from({ length: 26 }, (_, i) => ({
        type: 'order_confirmed',
        createdAt: ago(5 + i * 23),
        deliveries: MIX[i % MIX.length]!,
      })),
    );
  });
  after(() => t.close());

  const fromRows = async () =>
    (
      await queryRows<{ channel: string; status: string; provider: string | null; count: number }>(
        t.database.db,
        sql`select channel, status, details -> 'route' ->> 'provider' as provider, count(*)::int as count
            from deliveries group by 1, 2, 3 order by 1, 2, 3`,
      )
    ).map((r) => ({ ...r }));
  const totals = async () => (await deliveryTotals(t.database.db)).map((r) => ({ ...r }));

  test('before the seal, sealed, and with a slot dirtied after it: always what the rows say', async () => {
    assert.deepEqual(await totals(), await fromRows(), 'unsealed: from the rows');
    await sealStats(t.database.db);
    const [sealed] = await queryRows<{ n: number; vonage: number }>(
      t.database.db,
      sql`select count(*)::int as n, count(*) filter (where provider = 'vonage')::int as vonage
          from stats_delivery_slots`,
    );
    assert.ok(sealed!.n > 0 && sealed!.vonage > 0, 'the rollup holds the providers');
    assert.deepEqual(await totals(), await fromRows(), 'sealed: the rollup plus the recent rows');
    // A late report on an old SMS: its slot is dirty, read from the rows until the next seal.
    await t.database.db.execute(
      sql`update deliveries set status = 'delivered'
          where id = (select min(id) from deliveries where status = 'sent' and channel = 'sms'
                      and created_at < now() - interval '3 hours')`,
    );
    assert.deepEqual(await totals(), await fromRows(), 'dirty slot');
    assert.ok((await totals()).some((r) => r.provider === 'vonage' && r.status === 'delivered'));
  });
});
