import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ERRORS, type ErrorCode, errorAnchor } from '../../src/errors.ts';
import { registerErrorRoutes } from '../../src/http/routes/errors.ts';
import { bareHttpServer } from '../helpers/http-server.ts';

test("a problem's type link resolves to the service's own error page, at that code's row", async () => {
  const app = await bareHttpServer();
  registerErrorRoutes(app);
  try {
    const problem = (await app.inject({ method: 'GET', url: '/no-such-route' })).json<{ type: string }>();
    const link = new URL(problem.type, 'http://127.0.0.1:3000/no-such-route');
    assert.equal(link.origin, 'http://127.0.0.1:3000', 'the link stays on the service');
    assert.equal(link.hash, '#not-found');

    const page = await app.inject({ method: 'GET', url: link.pathname });
    assert.equal(page.statusCode, 200);
    assert.match(page.headers['content-type'] ?? '', /^text\/html/);
    // Every code of the catalogue has its row, so no `type` the API can answer points nowhere.
    for (const code of Object.keys(ERRORS) as ErrorCode[]) {
      assert.match(page.body, new RegExp(`<tr id="${errorAnchor(code)}">`), code);
    }
  } finally {
    await app.close();
  }
});
