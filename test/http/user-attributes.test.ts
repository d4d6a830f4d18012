import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq, inArray } from 'drizzle-orm';
import { type RunningApp, startApp } from '../../src/app.ts';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { apiKeys, users } from '../../src/db/schema.ts';
import { testConfig } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

const ADMIN_KEY = 'lcn_test_attributes_admin_key';

interface Problem {
  code: string;
  detail: string;
  errors?: Array<{ field: string; message: string }>;
}

interface UserView {
  id: string;
  phone: string | null;
  attributes: Record<string, unknown>;
}

interface UserList {
  users: UserView[];
  next_cursor: string | null;
}

describe(`user attributes API (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;

  before(async () => {
    t = await createTestDatabase();
    app = await startApp({
      config: testConfig({ PORT: '0', ADMIN_API_KEY: ADMIN_KEY }),
      api: true,
      worker: false,
      database: t.database,
    });
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });

  async function call(method: string, path: string, body?: unknown, key = ADMIN_KEY) {
    const headers: Record<string, string> = { authorization: `Bearer ${key}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${app.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as unknown };
  }

  const put = (id: string, body: unknown, key?: string) => call('PUT', `/api/v1/users/${id}`, body, key);
  const list = (query: string, key?: string) => call('GET', `/api/v1/users?${query}`, undefined, key);
  const filterQuery = (filter: unknown, extra = '') =>
    `filter=${encodeURIComponent(JSON.stringify(filter))}${extra}`;
  const removeUsers = (ids: string[]) => t.database.db.delete(users).where(inArray(users.externalId, ids));

  /** A 400 VALIDATION_FAILED whose error names exactly this field. */
  function assertRefused(res: { status: number; body: unknown }, field: string) {
    assert.equal(res.status, 400, JSON.stringify(res.body));
    const problem = res.body as Problem;
    assert.equal(problem.code, 'VALIDATION_FAILED');
    assert.deepEqual(
      problem.errors?.map((e) => e.field),
      [field],
      JSON.stringify(problem),
    );
    assert.ok(problem.detail.includes(field), problem.detail);
  }

  test('set, merge, delete with null; a PUT without attributes keeps them; GET returns them', async () => {
    try {
      const created = await put('u-attr', {
        attributes: { city: 'Pune', orders: 3, vip: false, gone: null },
      });
      assert.equal(created.status, 201);
      assert.deepEqual((created.body as UserView).attributes, { city: 'Pune', orders: 3, vip: false });

      const merged = await put('u-attr', { attributes: { orders: 4, segment: 'weekly', vip: null } });
      assert.equal(merged.status, 200);
      assert.deepEqual((merged.body as UserView).attributes, { city: 'Pune', orders: 4, segment: 'weekly' });

      const untouched = await put('u-attr', { first_name: 'Asha' });
      assert.deepEqual((untouched.body as UserView).attributes, {
        city: 'Pune',
        orders: 4,
        segment: 'weekly',
      });

      const got = await call('GET', '/api/v1/users/u-attr');
      assert.equal(got.status, 200);
      assert.deepEqual((got.body as UserView).attributes, { city: 'Pune', orders: 4, segment: 'weekly' });

      const plain = await put('u-attr-none', { first_name: 'Ravi' });
      assert.deepEqual((plain.body as UserView).attributes, {}, 'a user without attributes has {}');
    } finally {
      await removeUsers(['u-attr', 'u-attr-none']);
    }
  });

  test('a bad name, value or count is a 400 naming the attribute, and changes nothing', async () => {
    try {
      await put('u-attr-bad', { attributes: { city: 'Pune' } });
      assertRefused(await put('u-attr-bad', { attributes: { City: 'x' } }), 'body.attributes.City');
      assertRefused(await put('u-attr-bad', { attributes: { 'a-b': 1 } }), 'body.attributes.a-b');
      assertRefused(
        await put('u-attr-bad', { attributes: { ['k'.repeat(65)]: 1 } }),
        `body.attributes.${'k'.repeat(65)}`,
      );
      assertRefused(
        await put('u-attr-bad', { attributes: { note: 'x'.repeat(257) } }),
        'body.attributes.note',
      );
      assertRefused(await put('u-attr-bad', { attributes: { tags: ['a'] } }), 'body.attributes.tags');
      assertRefused(
        await put('u-attr-bad', { attributes: { address: { city: 'Pune' } } }),
        'body.attributes.address',
      );
      const tooMany = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i]));
      assertRefused(await put('u-attr-bad', { attributes: tooMany }), 'body.attributes');
      assertRefused(await put('u-attr-bad', { attributes: 'city=Pune' }), 'body.attributes');
      const res = await call('GET', '/api/v1/users/u-attr-bad');
      assert.deepEqual((res.body as UserView).attributes, { city: 'Pune' });
    } finally {
      await removeUsers(['u-attr-bad']);
    }
  });

  test('a merge that would pass 50 attributes is refused; one that ends at 50 is taken', async () => {
    try {
      const first = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`a${i}`, i]));
      assert.equal((await put('u-attr-many', { attributes: first })).status, 201);
      const more = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`b${i}`, i]));
      assertRefused(
        await put('u-attr-many', { attributes: more, first_name: 'Not saved' }),
        'body.attributes',
      );
      const after = (await call('GET', '/api/v1/users/u-attr-many')).body as UserView & {
        first_name: string;
      };
      assert.equal(Object.keys(after.attributes).length, 30, 'nothing of the refused PUT was written');
      assert.notEqual(after.first_name, 'Not saved');
      // Removing one in the same PUT makes room: the count is of the merge's result.
      const swap = { ...Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`b${i}`, i])), a0: null };
      const ok = await put('u-attr-many', { attributes: swap });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(Object.keys((ok.body as UserView).attributes).length, 50);
    } finally {
      await removeUsers(['u-attr-many']);
    }
  });

  test('concurrent PUTs setting different attributes all keep theirs (the merge is in the statement)', async () => {
    try {
      await put('u-attr-race', { first_name: 'Asha' });
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => put('u-attr-race', { attributes: { [`k${i}`]: i } })),
      );
      assert.deepEqual(
        results.map((r) => r.status),
        Array(12).fill(200),
      );
      const got = (await call('GET', '/api/v1/users/u-attr-race')).body as UserView;
      assert.deepEqual(
        got.attributes,
        Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${i}`, i])),
      );
    } finally {
      await removeUsers(['u-attr-race']);
    }
  });

  test('the filter returns exactly the users holding every pair, across pages, by cursor', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `u-filter-${String(i).padStart(2, '0')}`);
    try {
      // Pune + vip: ids 0, 3, 6, 9; Pune without vip: the other even ids; Delhi: the rest.
      for (const [i, id] of ids.entries()) {
        const attributes = {
          run: 'filter-test',
          city: i % 2 === 0 || i % 3 === 0 ? 'Pune' : 'Delhi',
          vip: i % 3 === 0,
          orders: i,
        };
        assert.ok([200, 201].includes((await put(id, { attributes, phone: '+919876543210' })).status));
      }
      const expectedPune = ids.filter((_, i) => i % 2 === 0 || i % 3 === 0);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await list(
          filterQuery({ run: 'filter-test', city: 'Pune' }, `&limit=3${cursor ? `&cursor=${cursor}` : ''}`),
        );
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const page = res.body as UserList;
        assert.ok(page.users.length <= 3);
        seen.push(...page.users.map((u) => u.id));
        cursor = page.next_cursor;
        pages++;
      } while (cursor);
      assert.deepEqual(seen, expectedPune, 'each matching user once, in creation order');
      assert.equal(pages, Math.ceil(expectedPune.length / 3));

      const vip = (await list(filterQuery({ run: 'filter-test', city: 'Pune', vip: true }))).body as UserList;
      assert.deepEqual(
        vip.users.map((u) => u.id),
        ids.filter((_, i) => i % 3 === 0),
      );
      assert.equal(vip.next_cursor, null);
      const typed = (await list(filterQuery({ run: 'filter-test', orders: 4 }))).body as UserList;
      assert.deepEqual(
        typed.users.map((u) => u.id),
        [ids[4]],
      );
      const asText = (await list(filterQuery({ run: 'filter-test', orders: '4' }))).body as UserList;
      assert.deepEqual(asText.users, [], 'the number 4 is not the string "4"');
      assert.equal(vip.users[0]!.phone, '+91********10', 'a list masks the phone');
    } finally {
      await removeUsers(ids);
    }
  });

  test('a viewer key may list and filter but not write; a bad filter is a 400 naming it', async () => {
    const viewer = await createApiKey(t.database.db, 'attributes viewer', 'viewer');
    try {
      await put('u-viewer-sees', { attributes: { run: 'viewer-test' } });
      const res = await list(filterQuery({ run: 'viewer-test' }), viewer);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(
        (res.body as UserList).users.map((u) => u.id),
        ['u-viewer-sees'],
      );
      const write = await put('u-viewer-sees', { attributes: { run: 'changed' } }, viewer);
      assert.equal(write.status, 403);
      assert.equal((write.body as Problem).code, 'FORBIDDEN');
      const got = (await call('GET', '/api/v1/users/u-viewer-sees')).body as UserView;
      assert.deepEqual(got.attributes, { run: 'viewer-test' });

      assertRefused(await list('filter=city%3DPune', viewer), 'querystring.filter');
      assertRefused(await list(filterQuery({ City: 'Pune' }), viewer), 'querystring.filter.City');
      assertRefused(await list(filterQuery({ city: null }), viewer), 'querystring.filter.city');
      assertRefused(await list('cursor=abc', viewer), 'querystring.cursor');
    } finally {
      await removeUsers(['u-viewer-sees']);
      await t.database.db.delete(apiKeys).where(eq(apiKeys.name, 'attributes viewer'));
    }
  });
});
