import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../../src/db/database.ts';
import { queryRows } from '../../src/db/database.ts';
import { deliveries } from '../../src/db/schema.ts';
import {
  applyProviderStatuses,
  type ProviderStatusUpdate,
} from '../../src/deliveries/apply-provider-statuses.ts';
import { completeBatch } from '../../src/deliveries/complete.ts';
import { insertUser, waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

/**
 * A provider's status report can reach an API node while the worker's write of the message's id
 * (lc_complete_deliveries) is still uncommitted. It must end applied, whichever transaction
 * commits first: before migration 0018 it was parked where the worker had already looked, and the
 * delivery stayed `sent` for good.
 */

async function leasedDelivery(db: Db, externalId: string, owner: string): Promise<string> {
  const user = await insertUser(db, externalId, { phone: '+919876500499' });
  const [row] = await queryRows<{ id: string }>(
    db,
    sql`with n as (
          insert into notifications (notification_id, user_id, type, category, priority, title, message)
          values (${`ntf_${externalId}`}, ${user.id}, 'order_confirmed', 'order_updates', 'critical', 't', 'm')
          returning id)
        insert into deliveries (notification_id, channel, status, attempts, max_attempts, lease_owner, lease_expires_at)
        select id, 'sms', 'sending', 1, 4, ${owner}, now() + interval '1 hour' from n returning id`,
  );
  return String(row!.id);
}

const undelivered = (sid: string): ProviderStatusUpdate => ({
  providerMessageId: sid,
  providerStatus: 'undelivered',
  errorCode: 30005,
  errorMessage: 'Twilio error 30005: Unknown destination handset',
  price: null,
  retryAt: null,
});

describe(`a status report racing the write of its sid (${ENGINE})`, () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(async () => {
    await t.close();
  });

  test('a report sent while the sid is being written is applied once that write commits', {
    skip: ENGINE !== 'postgres' && 'needs two connections: PGlite runs one statement at a time',
  }, async () => {
    const db = t.database.db;
    const id = await leasedDelivery(db, 'race-user', 'w-race');
    const sid = 'SMrace0000000000000000000000000001';
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let written!: () => void;
    const sidWritten = new Promise<void>((r) => {
      written = r;
    });
    // The worker's completion, held open after its write, as a slow commit would be.
    const worker = db.transaction(async (tx) => {
      await completeBatch(tx, 'w-race', [
        { id, event: 'send_ok', providerMessageId: sid, providerStatus: 'queued' },
      ]);
      written();
      await held;
    });
    await sidWritten;
    let reportDone = false;
    const report = applyProviderStatuses(db, [undelivered(sid)]).finally(() => {
      reportDone = true;
    });
    // Let the report run its course as far as it can while the write is uncommitted: either it
    // is answered (parked) or it waits on a lock. Then the worker commits.
    await waitFor(async () => {
      if (reportDone) return true;
      const [w] = await queryRows<{ n: number }>(
        db,
        sql`select count(*)::int as n from pg_stat_activity
              where datname = current_database() and wait_event_type = 'Lock'
                and query like '%lc_apply_provider_statuses%'`,
      );
      return w!.n > 0;
    });
    release();
    await worker;
    await report;
    const [d] = await db
      .select()
      .from(deliveries)
      .where(eq(deliveries.id, Number(id)));
    assert.equal(d!.status, 'failed');
    assert.equal(d!.providerStatus, 'undelivered');
    assert.equal(d!.errorCode, '30005');
    const [parked] = await queryRows<{ n: number }>(
      db,
      sql`select count(*)::int as n from early_provider_statuses where provider_message_id = ${sid}`,
    );
    assert.equal(parked!.n, 0, 'nothing is left parked');
  });

  test('a provider error code that is not a number is kept as text in metadata', async () => {
    const db = t.database.db;
    const id = await leasedDelivery(db, 'text-code-user', 'w-text');
    const sid = 'vonage-0000-text-code';
    await completeBatch(db, 'w-text', [
      { id, event: 'send_ok', providerMessageId: sid, providerStatus: 'accepted' },
    ]);
    const [applied] = await applyProviderStatuses(db, [
      { ...undelivered(sid), errorCode: 'VONAGE_DLR_1', errorMessage: 'Vonage receipt error 1: Unknown' },
    ]);
    assert.equal(applied?.applied, true);
    const [d] = await db
      .select()
      .from(deliveries)
      .where(eq(deliveries.id, Number(id)));
    assert.equal(d!.errorCode, 'VONAGE_DLR_1');
    assert.strictEqual((d!.metadata as { sms: Record<string, unknown> }).sms['error_code'], 'VONAGE_DLR_1');
  });
});
