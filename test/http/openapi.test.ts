import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { type RunningApp, startApp } from '../../src/app.ts';
import { ERRORS } from '../../src/errors.ts';
import { testConfig } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

interface Operation {
  responses?: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { properties: Record<string, { enum?: string[] }> }> };
}

/** Fastify's `/a/:id/*` as OpenAPI's `/a/{id}/*`. */
const openapiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');

describe(`the OpenAPI document (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  let doc: OpenApiDocument;

  before(async () => {
    t = await createTestDatabase();
    // The API role with every optional route: SMS webhooks (the sandbox's token), Vonage's (its secret).
    app = await startApp({
      config: testConfig({ PORT: '0', ADMIN_API_KEY: 'lcn_test_openapi' }),
      api: true,
      worker: false,
      database: t.database,
    });
    const res = await fetch(`${app.url}/openapi.json`);
    assert.equal(res.status, 200);
    doc = (await res.json()) as OpenApiDocument;
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });

  test('validates against the OpenAPI 3 schema (@seriousme/openapi-schema-validator), its $refs resolving', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc) as unknown as Record<string, unknown>);
    assert.deepEqual(result.errors, undefined);
    assert.equal(result.valid, true);
    assert.match(validator.version ?? '', /^3\./);
    assert.doesNotThrow(() => validator.resolveRefs());
    // The validator is not vacuous: an operation without a responses object is refused.
    const broken = structuredClone(doc) as unknown as { paths: Record<string, unknown> };
    broken.paths['/broken'] = { get: { summary: 'no responses' } };
    assert.equal((await new Validator().validate(broken)).valid, false);
  });

  test('every route that is not hidden is in it, with its method', () => {
    const routes = app.http!.routeTable.filter((r) => r.method !== 'HEAD');
    const missing = routes
      .filter((r) => !r.hidden)
      .filter((r) => !doc.paths[openapiPath(r.url)]?.[r.method.toLowerCase()])
      .map((r) => `${r.method} ${r.url}`);
    assert.deepEqual(missing, []);
    // Hiding is for pages, assets and sockets: an /api route may only be hidden as the
    // trailing-slash twin of one that is documented.
    const hiddenApi = routes
      .filter((r) => r.hidden && r.url.startsWith('/api/'))
      .filter((r) => {
        const twin = r.url.endsWith('/') ? r.url.slice(0, -1) : `${r.url}/`;
        return !doc.paths[openapiPath(twin)]?.[r.method.toLowerCase()];
      })
      .map((r) => `${r.method} ${r.url}`);
    assert.deepEqual(hiddenApi, []);
  });

  test('every error code of the catalogue is in the Problem schema, the default response of every operation', () => {
    const problem = doc.components.schemas['Problem'];
    assert.ok(problem, 'a Problem schema');
    assert.deepEqual(problem.properties['code']?.enum, Object.keys(ERRORS));
    const without: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const ref = operation.responses?.['default']?.content?.['application/problem+json']?.schema?.$ref;
        if (ref !== '#/components/schemas/Problem') without.push(`${method} ${path}`);
      }
    }
    assert.deepEqual(without, []);
  });
});
