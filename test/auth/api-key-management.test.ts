import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RunningApp, startApp } from '../../src/app.ts';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { testConfig } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

const ADMIN_KEY = 'lcn_adm_key_management_test_0123456';

interface Listed {
  id: number;
  name: string;
  role: string;
  prefix: string;
  state: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

describe(`API key management (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  const call = async (method: string, path: string, key: string, body?: unknown) => {
    const res = await fetch(app.url + path, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const list = async () => (await call('GET', '/api/v1/api-keys', ADMIN_KEY)).body['keys'] as Listed[];
  const works = async (key: string) => (await call('GET', '/api/v1/users/nobody-here', key)).status === 404;

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

  test('a created key is listed by its prefix, role and state, never the key; its use is stamped', async () => {
    const created = await call('POST', '/api/v1/api-keys', ADMIN_KEY, { name: 'backend', role: 'service' });
    assert.equal(created.status, 201);
    const key = created.body['key'] as string;
    let row = (await list()).find((k) => k.name === 'backend')!;
    assert.equal(row.role, 'service');
    assert.equal(row.state, 'active');
    assert.equal(row.last_used_at, null);
    assert.equal(row.prefix, `${key.slice(0, 12)}…`);
    assert.ok(!JSON.stringify(await list()).includes(key), 'no listing holds a key');
    assert.ok(await works(key));
    row = (await list()).find((k) => k.name === 'backend')!;
    assert.notEqual(row.last_used_at, null, 'using the key stamps last_used_at');
  });

  test('only admins list, revoke or rotate keys', async () => {
    const viewer = await createApiKey(t.database.db, 'eyes', 'viewer');
    const service = await createApiKey(t.database.db, 'svc', 'service');
    for (const key of [viewer, service]) {
      assert.equal((await call('GET', '/api/v1/api-keys', key)).status, 403);
      assert.equal((await call('POST', '/api/v1/api-keys/1/revoke', key)).status, 403);
      assert.equal((await call('POST', '/api/v1/api-keys/1/rotate', key, {})).status, 403);
    }
  });

  test('a revoked key stops at once; revoking it again or an unknown id is refused', async () => {
    const key = await createApiKey(t.database.db, 'to-revoke', 'service');
    assert.ok(await works(key), 'it works, and this process now remembers it');
    const id = (await list()).find((k) => k.name === 'to-revoke')!.id;
    const revoked = await call('POST', `/api/v1/api-keys/${id}/revoke`, ADMIN_KEY);
    assert.equal(revoked.status, 200);
    assert.equal((revoked.body['key'] as Listed).state, 'revoked');
    assert.equal(await works(key), false, 'refused at once, not after the cache time');
    const again = await call('POST', `/api/v1/api-keys/${id}/revoke`, ADMIN_KEY);
    assert.equal(again.status, 409);
    assert.equal(again.body['code'], 'API_KEY_REVOKED');
    const unknown = await call('POST', '/api/v1/api-keys/999999/revoke', ADMIN_KEY);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body['code'], 'API_KEY_NOT_FOUND');
  });

  test('the last admin key cannot be revoked; with a second one it can', async () => {
    const admins = (await list()).filter((k) => k.role === 'admin' && k.state === 'active');
    assert.equal(admins.length, 1);
    const refused = await call('POST', `/api/v1/api-keys/${admins[0]!.id}/revoke`, ADMIN_KEY);
    assert.equal(refused.status, 409);
    assert.equal(refused.body['code'], 'LAST_ADMIN_KEY');
    assert.ok(await works(ADMIN_KEY), 'and it still works');
    const second = await createApiKey(t.database.db, 'second admin', 'admin');
    const secondId = (await list()).find((k) => k.name === 'second admin')!.id;
    assert.equal((await call('POST', `/api/v1/api-keys/${secondId}/revoke`, ADMIN_KEY)).status, 200);
    assert.equal(await works(second), false);
  });

  test('rotation: a new key at once, the old one working through the overlap, then stopped', async () => {
    const old = await createApiKey(t.database.db, 'rotating', 'service');
    const id = (await list()).find((k) => k.name === 'rotating')!.id;
    const before = Date.now();
    const rotated = await call('POST', `/api/v1/api-keys/${id}/rotate`, ADMIN_KEY, { overlap_seconds: 3600 });
    assert.equal(rotated.status, 201);
    const fresh = rotated.body['key'] as string;
    assert.match(fresh, /^lcn_svc_/);
    assert.equal((rotated.body['created'] as Listed).name, 'rotating');
    const oldRow = rotated.body['old'] as Listed;
    assert.equal(oldRow.state, 'expiring');
    // The database's clock sets the end; an hour from now, give or take the machines' skew.
    const ends = Date.parse(oldRow.revoked_at!) - before;
    assert.ok(ends > 3_500_000 && ends < 3_700_000, `the old key ends in about an hour (${ends} ms)`);
    assert.ok(await works(fresh), 'the new key works');
    assert.ok(await works(old), 'the old key works through the overlap');

    const now = await call(
      'POST',
      `/api/v1/api-keys/${(rotated.body['created'] as Listed).id}/rotate`,
      ADMIN_KEY,
      {
        overlap_seconds: 0,
      },
    );
    assert.equal(now.status, 201);
    assert.equal((now.body['old'] as Listed).state, 'revoked');
    assert.equal(await works(fresh), false, 'an overlap of 0 stops the old key now');
    assert.ok(await works(now.body['key'] as string));
  });

  test('rotating a revoked key changes nothing and says why', async () => {
    const before = (await list()).length;
    const revokedId = (await list()).find((k) => k.state === 'revoked')!.id;
    const res = await call('POST', `/api/v1/api-keys/${revokedId}/rotate`, ADMIN_KEY, {});
    assert.equal(res.status, 409);
    assert.equal(res.body['code'], 'API_KEY_REVOKED');
    assert.equal((await list()).length, before, 'no new key was left behind');
    const tooLong = await call('POST', `/api/v1/api-keys/${revokedId}/rotate`, ADMIN_KEY, {
      overlap_seconds: 31 * 86_400,
    });
    assert.equal(tooLong.status, 400);
  });
});
