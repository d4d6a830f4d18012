import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type RunningApp, startApp } from '../../src/app.ts';
import type { AppError } from '../../src/errors.ts';
import { requireApiKey } from '../../src/http/auth.ts';
import { testConfig } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

const ADMIN_KEY = 'lcn_test_admin_key_stats';

describe(`GET /api/v1/stats and the viewer role (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  let viewerKey: string;
  let serviceKey: string;

  const call = (method: string, path: string, key: string, body?: unknown) =>
    fetch(app.url + path, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  const createKey = async (role: string) => {
    const res = await call('POST', '/api/v1/api-keys', ADMIN_KEY, { name: `${role} for tests`, role });
    assert.equal(res.status, 201);
    const body = (await res.json()) as { key: string; role: string };
    assert.equal(body.role, role);
    return body.key;
  };

  before(async () => {
    t = await createTestDatabase();
    app = await startApp({
      config: testConfig({ PORT: '0', ADMIN_API_KEY: ADMIN_KEY, STATS_TIME_ZONE: 'Asia/Kolkata' }),
      api: true,
      worker: false,
      database: t.database,
    });
    viewerKey = await createKey('viewer');
    serviceKey = await createKey('service');
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });

  test('an admin creates a viewer key, and the viewer reads the stats in the configured zone', async () => {
    assert.match(viewerKey, /^lcn_vwr_/);
    const res = await call('GET', '/api/v1/stats', viewerKey);
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      window: { time_zone: string; granularity: string; from: string };
      channels: Record<string, unknown>;
      buckets: unknown[];
    };
    assert.equal(body.window.time_zone, 'Asia/Kolkata');
    assert.equal(body.window.granularity, 'hour');
    assert.match(body.window.from, /T18:30:00\.000Z$/, 'today starts at midnight in Kolkata');
    assert.deepEqual(Object.keys(body.channels).sort(), ['email', 'in_app', 'push', 'sms']);
    assert.equal(body.buckets.length, 24);
    const admin = await call('GET', '/api/v1/stats?window=7d&tz=UTC&granularity=day', ADMIN_KEY);
    assert.equal(admin.status, 200);
    assert.equal(((await admin.json()) as { buckets: unknown[] }).buckets.length, 7);
  });

  test('the OpenAPI document describes the query and the answer', async () => {
    const doc = (await (await fetch(`${app.url}/openapi.json`)).json()) as {
      paths: Record<
        string,
        { get?: { parameters: Array<{ name: string }>; responses: Record<string, unknown> } }
      >;
    };
    const op = doc.paths['/api/v1/stats']?.get;
    assert.deepEqual(op?.parameters.map((p) => p.name).sort(), ['from', 'granularity', 'to', 'tz', 'window']);
    assert.match(JSON.stringify(op?.responses['200']), /delivery_rate/);
  });

  test('a service key may not read the stats', async () => {
    const res = await call('GET', '/api/v1/stats', serviceKey);
    assert.equal(res.status, 403);
  });

  test('bad windows are a problem+json 400 that says why', async () => {
    const cases: Array<[string, RegExp]> = [
      ['window=1y', /window/],
      ['from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z', /from must be before to/],
      ['from=2026-12-01T00:00:00Z', /both from and to/],
      ['from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z', /at most 400 days/],
      ['from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z&granularity=hour', /Hourly buckets/],
      ['tz=Mars%2FOlympus', /not an IANA time zone/],
      ['from=yesterday&to=2026-12-01T00:00:00Z', /from/],
      ['colour=blue', /colour|Unrecognized/i],
    ];
    for (const [query, detail] of cases) {
      const res = await call('GET', `/api/v1/stats?${query}`, ADMIN_KEY);
      assert.equal(res.status, 400, query);
      assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
      const problem = (await res.json()) as { code: string; detail: string };
      assert.equal(problem.code, 'VALIDATION_FAILED', query);
      assert.match(JSON.stringify(problem), detail, query);
    }
  });

  test('a viewer key is refused (403) on every state-changing route, and may not mint keys', async () => {
    const SIGNED_LINK_ROUTES = new Set(['/unsubscribe/:token']);
    const writes = app.http!.routeTable.filter((r) => !['GET', 'HEAD', 'OPTIONS'].includes(r.method));
    assert.ok(writes.length >= 8, `expected the write routes, got ${writes.map((r) => r.url)}`);
    for (const route of writes) {
      const path = route.url.replace(/:[A-Za-z]+/g, 'x').replace(/\*$/, '');
      // An empty form body: API-key routes judge the key in onRequest, before any body is parsed or
      // validated; the Twilio webhooks take no key at all and refuse an unsigned request.
      const res = await fetch(app.url + path, {
        method: route.method,
        headers: {
          authorization: `Bearer ${viewerKey}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: '',
      });
      if (SIGNED_LINK_ROUTES.has(route.url)) {
        // Authorised by the signed link in the URL alone (RFC 8058: no other credentials), so a
        // key means nothing to it; a forged link changes nothing.
        assert.equal(res.status, 400, `${route.method} ${route.url} answered ${res.status}`);
        continue;
      }
      assert.equal(res.status, 403, `${route.method} ${route.url} answered ${res.status}`);
    }
    assert.ok(writes.some((r) => r.url === '/api/v1/api-keys'));
  });

  test('a write route that lists the viewer role still refuses a viewer key', async () => {
    const hook = requireApiKey(t.database.db, ['viewer']);
    const request = (method: string) =>
      ({
        method,
        headers: { authorization: `Bearer ${viewerKey}` },
        server: app.http,
      }) as unknown as FastifyRequest;
    await hook(request('GET'), {} as FastifyReply);
    await assert.rejects(
      hook(request('POST'), {} as FastifyReply),
      (err: AppError) => err.code === 'FORBIDDEN',
    );
  });
});
