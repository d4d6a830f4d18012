import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_ROUTES } from '../../src/channels/sms/routing/routing-config.ts';
import { START, testRouter } from '../helpers/sms-routing.ts';

const MINUTE = 60_000;

test('the snapshot is plain JSON: state, weights per route, window counts and shares, history', () => {
  const { router, clock } = testRouter(DEFAULT_ROUTES);
  for (let i = 0; i < 8; i++) router.recordRequest('twilio', { result: 'accepted' });
  for (let i = 0; i < 10; i++) router.recordDelivered('twilio', START - 6 * MINUTE, START);
  router.recordRequest('vonage', { result: 'not-reached' });
  clock.advance(MINUTE);
  const snapshot = router.snapshot();
  assert.deepEqual(JSON.parse(JSON.stringify(snapshot)), snapshot, 'nothing but JSON values');
  const [twilio, vonage] = snapshot.providers;
  assert.deepEqual(twilio, {
    name: 'twilio',
    state: 'in_rotation',
    outSince: null,
    outCause: null,
    nextProbeAt: null,
    healthy: false,
    unhealthyReason: '100 % of 10 delivered in 15 min took > 5 min',
    window: {
      ms: 15 * MINUTE,
      requests: {
        ok: 8,
        recipient_error: 0,
        error: 0,
        throttled: 0,
        timeout: 0,
        server_error: 0,
        connection_refused: 0,
        auth_error: 0,
      },
      delivered: 10,
      slow: 10,
      slowShare: 1,
      failedShare: 0,
    },
    shift: -10,
    weights: [
      { route: 'IN', resting: 50, current: 40 },
      { route: 'US', resting: 70, current: 60 },
      { route: 'default', resting: 100, current: 90 },
    ],
  });
  assert.equal(vonage!.state, 'out');
  assert.equal(vonage!.outSince, new Date(START).toISOString());
  assert.equal(vonage!.outCause, 'connection refused');
  assert.equal(vonage!.nextProbeAt, new Date(START + 30_000).toISOString());
  assert.equal(vonage!.healthy, false);
  assert.equal(vonage!.window.failedShare, 1);
  assert.equal(snapshot.at, new Date(START + MINUTE).toISOString());
  assert.deepEqual(vonage!.weights, [
    { route: 'IN', resting: 50, current: 60 },
    { route: 'US', resting: 30, current: 40 },
    { route: 'default', resting: 0, current: 10 },
  ]);
  const at = new Date(START).toISOString();
  assert.equal(snapshot.lastWeightChangeAt, at);
  assert.deepEqual(snapshot.history, [
    {
      at,
      provider: 'twilio',
      change: 'weight',
      from: 0,
      to: -10,
      reason: `unhealthy: ${twilio!.unhealthyReason}`,
    },
    { at, provider: 'vonage', change: 'weight', from: 0, to: 10, reason: 'takes weight from twilio' },
    { at, provider: 'vonage', change: 'rotation', from: 'in', to: 'out', reason: 'connection refused' },
  ]);
});

test('the history keeps the last historySize changes', () => {
  const { router, clock } = testRouter(DEFAULT_ROUTES, { historySize: 3 });
  router.recordRequest('twilio', { result: 'not-reached' });
  for (let i = 0; i < 3; i++) {
    clock.advance(5 * MINUTE);
    router.choose('+33612345678', 1);
    router.recordRequest('twilio', { result: 'not-reached' });
  }
  const history = router.snapshot().history;
  assert.equal(history.length, 3);
  assert.equal(history.at(-1)!.at, new Date(START + 15 * MINUTE).toISOString());
});

test('the snapshot is a copy: changing it changes nothing in the router', () => {
  const { router } = testRouter(DEFAULT_ROUTES);
  router.recordRequest('twilio', { result: 'not-reached' });
  const first = router.snapshot();
  first.history.length = 0;
  first.providers[0]!.window.requests.ok = 99;
  assert.equal(router.snapshot().history.length, 1);
  assert.equal(router.snapshot().providers[0]!.window.requests.ok, 0);
});
