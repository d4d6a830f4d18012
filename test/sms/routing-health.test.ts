import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SmsRouter } from '../../src/channels/sms/routing/sms-router.ts';
import { START, testRouter, twoProviders, US } from '../helpers/sms-routing.ts';

const MINUTE = 60_000;

/** The current US weights, as the snapshot reports them. */
function weights(router: SmsRouter): Record<string, number> {
  return Object.fromEntries(
    router.snapshot().providers.map((p) => [p.name, p.weights.find((w) => w.route === 'US')!.current]),
  );
}

function deliveries(router: SmsRouter, provider: string, count: number, latencyMs: number, now: number) {
  for (let i = 0; i < count; i++) router.recordDelivered(provider, now - latencyMs, now);
}

const routes = () => ({
  US: twoProviders('weighted', { twilio: [70, 0.0083], vonage: [30, 0.0091] }),
  default: twoProviders('priority'),
});

describe("GOV.UK Notify's slow-delivery rule", () => {
  test('15 % of the window delivered slower than 5 min shifts 10 points, at most once per 5 min, then drifts back', () => {
    const { router, clock } = testRouter(routes());
    deliveries(router, 'twilio', 17, 1 * MINUTE, clock.now());
    deliveries(router, 'twilio', 2, 6 * MINUTE, clock.now());
    assert.deepEqual(weights(router), { twilio: 70, vonage: 30 }, '2 of 19 slow (10.5 %) is healthy');
    deliveries(router, 'twilio', 1, 6 * MINUTE, clock.now());
    assert.deepEqual(weights(router), { twilio: 60, vonage: 40 }, '3 of 20 slow (15 %) shifts 10 points');
    const [first, second] = router.snapshot().history;
    assert.deepEqual(first, {
      at: new Date(START).toISOString(),
      provider: 'twilio',
      change: 'weight',
      from: 0,
      to: -10,
      reason: 'unhealthy: 15 % of 20 delivered in 15 min took > 5 min',
    });
    assert.deepEqual(second, {
      at: new Date(START).toISOString(),
      provider: 'vonage',
      change: 'weight',
      from: 0,
      to: 10,
      reason: 'takes weight from twilio',
    });

    clock.advance(5 * MINUTE - 1);
    deliveries(router, 'twilio', 20, 6 * MINUTE, clock.now());
    assert.deepEqual(weights(router), { twilio: 60, vonage: 40 }, 'no change within 5 min of the last one');
    clock.advance(1);
    assert.deepEqual(weights(router), { twilio: 50, vonage: 50 }, 'still slow at 5 min: 10 more points');

    // The last slow receipts came at + 4:59, in the minute bucket of + 4, which leaves the window at + 20.
    clock.advance(5 * MINUTE);
    assert.deepEqual(weights(router), { twilio: 40, vonage: 60 }, 'still slow at 10 min');
    clock.advance(5 * MINUTE);
    assert.deepEqual(weights(router), { twilio: 30, vonage: 70 }, 'and at 15 min');
    clock.advance(5 * MINUTE);
    assert.deepEqual(weights(router), { twilio: 40, vonage: 60 }, 'healthy at 20 min: drifts back 10');
    clock.advance(4 * MINUTE);
    assert.deepEqual(weights(router), { twilio: 40, vonage: 60 }, 'the drift waits 5 min too');
    clock.advance(1 * MINUTE);
    assert.deepEqual(weights(router), { twilio: 50, vonage: 50 });
    clock.advance(10 * MINUTE);
    assert.deepEqual(
      weights(router),
      { twilio: 60, vonage: 40 },
      'asked again after 10 min: one step, not two',
    );
    clock.advance(5 * MINUTE);
    assert.deepEqual(weights(router), { twilio: 70, vonage: 30 }, 'back at rest');
    clock.advance(30 * MINUTE);
    assert.deepEqual(weights(router), { twilio: 70, vonage: 30 }, 'and stays there');
    assert.equal(router.snapshot().history.filter((h) => h.provider === 'twilio').length, 8);
  });

  test('the weighted pick follows the shifted weights', () => {
    const { router } = testRouter(routes());
    deliveries(router, 'twilio', 10, 10 * MINUTE, START);
    const choice = router.choose(US, 1);
    assert.match(choice.ok ? choice.reason : '', /^weighted for US twilio 60\/vonage 40 → /);
  });

  test('too few receipts in the window say nothing', () => {
    const { router } = testRouter(routes(), { minDelivered: 10 });
    deliveries(router, 'twilio', 9, 10 * MINUTE, START);
    assert.deepEqual(weights(router), { twilio: 70, vonage: 30 });
  });

  test('the thresholds are the config’s: 50 % slow over 2 min, 20 points, 1 min apart', () => {
    const { router, clock } = testRouter(routes(), {
      windowMs: 2 * MINUTE,
      slowDeliveryMs: 30_000,
      slowShare: 0.5,
      minDelivered: 2,
      shiftPoints: 20,
      minChangeIntervalMs: MINUTE,
    });
    deliveries(router, 'twilio', 3, 1000, START);
    deliveries(router, 'twilio', 2, 40_000, START);
    assert.deepEqual(weights(router), { twilio: 70, vonage: 30 }, '2 of 5 slow is under 50 %');
    deliveries(router, 'twilio', 1, 40_000, START);
    assert.deepEqual(weights(router), { twilio: 50, vonage: 50 });
    clock.advance(2 * MINUTE);
    assert.deepEqual(weights(router), { twilio: 70, vonage: 30 }, 'window slid past them: drifts back 20');
  });

  test('nowhere healthy to move weight to: no move', () => {
    const { router } = testRouter(routes());
    router.recordRequest('vonage', { result: 'not-reached' });
    deliveries(router, 'twilio', 10, 10 * MINUTE, START);
    assert.deepEqual(weights(router), { twilio: 70, vonage: 30 });
    assert.deepEqual(
      router.snapshot().history.map((h) => h.change),
      ['rotation'],
      'vonage left rotation; no weight moved',
    );
  });
});

describe('failed requests in the window', () => {
  test('15 % of requests failing (429s here) shifts weight like slow delivery does', () => {
    const { router } = testRouter(routes());
    for (let i = 0; i < 8; i++) router.recordRequest('twilio', { result: 'accepted' });
    router.recordRequest('twilio', { result: 'refused', refusal: 'throttled' });
    assert.deepEqual(weights(router), { twilio: 70, vonage: 30 }, '9 requests are too few to judge');
    router.recordRequest('twilio', { result: 'refused', refusal: 'throttled' });
    assert.deepEqual(weights(router), { twilio: 60, vonage: 40 });
    assert.equal(
      router.snapshot().history[0]!.reason,
      'unhealthy: 20 % of 10 requests in 15 min failed (throttled 2)',
    );
  });

  test('recipient errors are not the provider’s failures', () => {
    const { router } = testRouter(routes());
    for (let i = 0; i < 10; i++) router.recordRequest('twilio', { result: 'refused', refusal: 'recipient' });
    assert.deepEqual(weights(router), { twilio: 70, vonage: 30 });
  });

  test('an unhealthy cheapest provider gives way to a healthy one, and comes back when the window clears', () => {
    const { router, clock } = testRouter({ default: twoProviders('cheapest') });
    deliveries(router, 'vonage', 10, 10 * MINUTE, START);
    const away = router.choose(US, 1);
    assert.equal(away.ok && away.provider, 'twilio');
    assert.match(away.ok ? away.reason : '', /vonage unhealthy \(100 % of 10 delivered/);
    clock.advance(15 * MINUTE);
    const back = router.choose(US, 1);
    assert.equal(back.ok && back.provider, 'vonage');
  });

  test('priority passes over an unhealthy first provider, and still takes it when none is healthy', () => {
    const { router } = testRouter({ default: twoProviders('priority') });
    deliveries(router, 'twilio', 10, 10 * MINUTE, START);
    const next = router.choose(US, 1);
    assert.equal(next.ok && next.provider, 'vonage');
    assert.equal(
      next.ok && next.reason,
      'priority for default: vonage (twilio unhealthy (100 % of 10 delivered in 15 min took > 5 min))',
    );
    deliveries(router, 'vonage', 10, 10 * MINUTE, START);
    const degraded = router.choose(US, 1);
    assert.equal(degraded.ok && degraded.provider, 'twilio');
    assert.match(degraded.ok ? degraded.reason : '', /^priority for default \(none healthy\): twilio/);
  });
});
