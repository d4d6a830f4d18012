import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { asc, like, sql } from 'drizzle-orm';
import { users } from '../../src/db/schema.ts';
import { findUsers, userFilterCondition } from '../../src/users/find-users.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

describe(`findUsers: the audience query (${ENGINE})`, () => {
  let t: TestDatabase;

  before(async () => {
    t = await createTestDatabase();
  });
  after(async () => {
    await t?.close();
  });

  test('walks every matching user once, by keyset pages, and meets a user added mid-walk once', async () => {
    const db = t.database.db;
    try {
      const rows = Array.from({ length: 250 }, (_, i) => ({
        externalId: `walk-${i}`,
        attributes: { run: 'walk', city: ['Pune', 'Delhi', 'Chennai'][i % 3]!, vip: i % 5 === 0 },
      }));
      await db.insert(users).values(rows);
      const expected = rows
        .filter((r) => r.attributes.city === 'Pune' && r.attributes.vip)
        .map((r) => r.externalId);
      const filter = { attributes: { run: 'walk', city: 'Pune', vip: true } };
      const seen: string[] = [];
      let afterId: number | undefined;
      let added = false;
      do {
        const page = await findUsers(db, filter, { afterId, limit: 4 });
        seen.push(...page.users.map((u) => u.externalId));
        afterId = page.nextAfterId;
        if (!added) {
          // Created while the walk is under way: a higher id, so it is met on a later page.
          await db.insert(users).values({ externalId: 'walk-late', attributes: filter.attributes });
          added = true;
        }
      } while (afterId !== undefined);
      assert.deepEqual(seen, [...expected, 'walk-late']);

      const all = await findUsers(db, {}, { limit: 1000 });
      const everyone = await db.select({ id: users.id }).from(users).orderBy(asc(users.id));
      assert.deepEqual(
        all.users.map((u) => u.id),
        everyone.map((u) => u.id),
        'no filter: every user',
      );
      assert.equal(all.nextAfterId, undefined);
    } finally {
      await db.delete(users).where(like(users.externalId, 'walk-%'));
    }
  });

  test('the filter is answered by users_attributes_idx (the GIN index), not by reading every user', async () => {
    const db = t.database.db;
    try {
      await db.insert(users).values(
        Array.from({ length: 500 }, (_, i) => ({
          externalId: `plan-${i}`,
          attributes: { city: i % 50 === 0 ? 'Pune' : 'Delhi', orders: i },
        })),
      );
      await db.execute(sql`analyze users`);
      const plan = await db.transaction(async (tx) => {
        // Neither a sequential scan nor a walk of the primary key may answer it: what remains is a
        // bitmap scan, and only an index that serves @> on attributes makes one cheap.
        await tx.execute(sql`set local enable_seqscan = off`);
        await tx.execute(sql`set local enable_indexscan = off`);
        const condition = userFilterCondition({ attributes: { city: 'Pune' } })!;
        const res = await tx.execute(
          sql`explain select * from ${users} where ${condition} order by ${users.id} limit 51`,
        );
        return (res as { rows: Array<Record<string, string>> }).rows.map((r) => r['QUERY PLAN']).join('\n');
      });
      assert.match(plan, /Bitmap Index Scan on users_attributes_idx/, plan);
    } finally {
      await db.delete(users).where(like(users.externalId, 'plan-%'));
    }
  });
});
