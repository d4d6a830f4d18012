import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '../helpers/fixtures.ts';
import { ENGINE } from '../helpers/test-db.ts';
import { ADMIN_KEY, call, startSecurityApp } from './helpers.ts';

const MAX_IN_FLIGHT = 3;
const RETRY_AFTER = 7;

// PostgreSQL bounds the wait for the database with its pool; this bound is the embedded engine's.
test('embedded: with the database busy, requests past OVERLOAD_EMBEDDED_MAX_IN_FLIGHT are refused at once with 503 and Retry-After', {
  skip: ENGINE !== 'pglite',
}, async () => {
  const s = await startSecurityApp({
    LOG_LEVEL: 'silent',
    OVERLOAD_EMBEDDED_MAX_IN_FLIGHT: String(MAX_IN_FLIGHT),
    OVERLOAD_RETRY_AFTER_SECONDS: String(RETRY_AFTER),
  });
  const get = () => call(s.url, 'GET', '/api/v1/notifications/ntf_not_there', { key: ADMIN_KEY });
  let release = () => {};
  let blocker: Promise<void> | undefined;
  let waiting: ReturnType<typeof get>[] = [];
  try {
    // PGlite runs one transaction at a time: while this one is open every other query waits.
    await new Promise<void>((holding) => {
      blocker = s.t.database.db.transaction(async () => {
        holding();
        await new Promise<void>((r) => {
          release = r;
        });
      });
    });
    waiting = Array.from({ length: MAX_IN_FLIGHT }, get);
    await waitFor(
      async () => s.app.http!.admission!.inFlight === MAX_IN_FLIGHT,
      30_000,
      `${MAX_IN_FLIGHT} requests waiting for the database`,
    );

    const refused = await get();
    assert.equal(refused.status, 503, refused.text);
    assert.equal(refused.headers.get('retry-after'), String(RETRY_AFTER));
    const problem = JSON.parse(refused.text) as { code: string; detail: string };
    assert.equal(problem.code, 'SERVICE_OVERLOADED');
    assert.match(problem.detail, /3 requests in flight/);
    assert.equal((await call(s.url, 'GET', '/healthz')).status, 200, 'liveness is not counted');

    release();
    await blocker;
    // The waiting ones are served once the database is free (404: no such notification), and so is
    // the next one: the count went back down.
    assert.deepEqual(
      (await Promise.all(waiting)).map((r) => r.status),
      Array(MAX_IN_FLIGHT).fill(404),
    );
    assert.equal((await get()).status, 404);
    assert.equal(s.app.http!.admission!.inFlight, 0);
  } finally {
    release();
    await blocker;
    await Promise.allSettled(waiting);
    await s.close();
  }
});
