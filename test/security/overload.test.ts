import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../helpers/fixtures.ts';
import { ENGINE } from '../helpers/test-db.ts';
import { ADMIN_KEY, call, type SecurityApp, startSecurityApp } from './helpers.ts';

/**
 * Under overload the API refuses at once (503, Retry-After, problem+json) instead of queueing. The
 * service runs in this process, so blocking this thread is, to it, a saturated event loop.
 */
const MAX_DELAY_MS = 20;
const RETRY_AFTER = 7;
/**
 * The loop's delay is the mean over one-second samples taken every 10 ms. A stall of S ms adds one
 * sample of ~S ms to at most 100 normal ones, so the mean is at least (S + 1010) / 101 - 10 ms:
 * about 30 ms for 3 s, over the limit wherever the stall falls in the second.
 */
const STALL_MS = 3000;

/** Block this thread without burning a core (the machine is shared). */
const stall = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

describe(`overload (${ENGINE})`, () => {
  let s: SecurityApp;
  before(async () => {
    s = await startSecurityApp({
      LOG_LEVEL: 'silent',
      OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: String(MAX_DELAY_MS),
      OVERLOAD_RETRY_AFTER_SECONDS: String(RETRY_AFTER),
    });
  });
  after(async () => {
    await s.close();
  });

  test('a stalled event loop is answered 503 SERVICE_OVERLOADED with Retry-After; liveness still answers', async () => {
    const body = { user_id: 'nobody', type: 'order_confirmed', context: {} };
    let answers: Array<Awaited<ReturnType<typeof call>>> = [];
    // Rarely the sample is taken just before the stall's delay is recorded, and lands a second
    // later; another stall settles it.
    for (let attempt = 0; attempt < 3 && answers[0]?.status !== 503; attempt++) {
      stall(STALL_MS);
      answers = await Promise.all([
        call(s.url, 'POST', '/api/v1/notifications', { key: ADMIN_KEY, body }),
        call(s.url, 'GET', '/healthz'),
        call(s.url, 'GET', '/readyz'),
      ]);
    }
    const [api, healthz, readyz] = answers;
    assert.equal(api?.status, 503, api?.text);
    assert.equal(api.headers.get('retry-after'), String(RETRY_AFTER));
    assert.match(api.headers.get('content-type') ?? '', /application\/problem\+json/);
    const problem = JSON.parse(api.text) as { code: string; status: number; detail: string };
    assert.equal(problem.code, 'SERVICE_OVERLOADED');
    assert.equal(problem.status, 503);
    assert.match(problem.detail, /eventLoopDelay/);
    assert.equal(healthz?.status, 200, 'liveness answers while the service sheds load');
    assert.equal(readyz?.status, 503, 'readiness takes the instance out of rotation');
    assert.equal((JSON.parse(readyz.text) as { code: string }).code, 'SERVICE_OVERLOADED');

    // Not a state it stays in: once the loop is free, requests are served again (404: no such user).
    await waitFor(
      async () =>
        (await call(s.url, 'POST', '/api/v1/notifications', { key: ADMIN_KEY, body })).status === 404,
      30_000,
      'requests served again',
    );
  });
});
