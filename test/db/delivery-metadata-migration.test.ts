import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { readMigrationFiles } from 'drizzle-orm/migrator';

/**
 * Migration 0007 moves notification.metadata to the deliveries: a database that already holds
 * sent notifications must keep what each channel recorded.
 */
test('0007 moves each channel part of notifications.metadata to that channel delivery', async () => {
  const migrations = readMigrationFiles({
    migrationsFolder: join(import.meta.dirname, '../../src/db/migrations'),
  });
  const at = migrations.findIndex((m) => m.sql.some((s) => s.includes('ADD COLUMN "metadata"')));
  assert.ok(at > 0, 'the migration is in the folder');
  const db = new PGlite();
  try {
    const apply = async (upTo: number, from = 0) => {
      for (const m of migrations.slice(from, upTo)) for (const s of m.sql) if (s.trim()) await db.exec(s);
    };
    await apply(at);
    await db.exec(`
      insert into users (external_id) values ('u1');
      insert into notifications (notification_id, user_id, type, category, priority, title, message, metadata)
      values ('ntf_a', 1, 'order_confirmed', 'order_updates', 'critical', 't', 'm',
              '{"sms": {"sent": true, "status": "delivered"}, "push": {"sent": false}}'),
             ('ntf_b', 1, 'order_confirmed', 'order_updates', 'critical', 't', 'm', '{}');
      insert into deliveries (notification_id, channel, status, max_attempts)
      values (1, 'sms', 'delivered', 4), (1, 'push', 'failed', 4), (1, 'in_app', 'delivered', 1),
             (2, 'sms', 'queued', 4);`);
    await apply(at + 1, at);
    const { rows } = await db.query<{ n: string; channel: string; metadata: unknown }>(
      `select n.notification_id as n, d.channel, d.metadata from deliveries d
       join notifications n on n.id = d.notification_id order by d.id`,
    );
    assert.deepEqual(rows, [
      { n: 'ntf_a', channel: 'sms', metadata: { sms: { sent: true, status: 'delivered' } } },
      { n: 'ntf_a', channel: 'push', metadata: { push: { sent: false } } },
      { n: 'ntf_a', channel: 'in_app', metadata: {} },
      { n: 'ntf_b', channel: 'sms', metadata: {} },
    ]);
    const cols = await db.query(
      `select 1 from information_schema.columns where table_name = 'notifications' and column_name = 'metadata'`,
    );
    assert.equal(cols.rows.length, 0, 'notifications.metadata is gone');
  } finally {
    await db.close();
  }
});
