import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_HEALTH, DEFAULT_ROUTES } from '../../src/channels/sms/routing/routing-config.ts';
import { SmsRouter } from '../../src/channels/sms/routing/sms-router.ts';
import { TestClock } from '../../src/clock.ts';
import { INDIA, testRouter, twoProviders, US } from '../helpers/sms-routing.ts';

describe('cheapest', () => {
  test('picks the lower price per country, and says so', () => {
    const { router } = testRouter({
      IN: twoProviders('cheapest', { twilio: [50, 0.0832], vonage: [50, 0.0455] }),
      US: twoProviders('cheapest', { twilio: [50, 0.0083], vonage: [50, 0.0091] }),
      default: twoProviders('priority'),
    });
    const india = router.choose(INDIA, 2);
    assert.equal(india.ok && india.provider, 'vonage');
    assert.equal(india.ok && india.reason, 'cheapest healthy for IN: vonage $0.0455/segment');
    assert.deepEqual(india.ok && india.cost, { amount: 0.091, currency: 'USD', perSegment: 0.0455 });
    const us = router.choose(US, 1);
    assert.equal(us.ok && us.provider, 'twilio');
    assert.equal(us.ok && us.country, 'US');
  });

  test('a price change in the config changes the route', () => {
    const before = testRouter({
      IN: twoProviders('cheapest', { twilio: [50, 0.08], vonage: [50, 0.05] }),
      default: twoProviders('priority'),
    });
    const after = testRouter({
      IN: twoProviders('cheapest', { twilio: [50, 0.04], vonage: [50, 0.05] }),
      default: twoProviders('priority'),
    });
    const was = before.router.choose(INDIA, 1);
    assert.equal(was.ok && was.provider, 'vonage');
    const choice = after.router.choose(INDIA, 1);
    assert.equal(choice.ok && choice.provider, 'twilio');
    assert.equal(choice.ok && choice.cost.amount, 0.04);
  });

  test('a tie in price goes to the higher weight', () => {
    const { router } = testRouter({
      default: twoProviders('cheapest', { twilio: [20, 0.05], vonage: [80, 0.05] }),
    });
    const choice = router.choose(INDIA, 1);
    assert.equal(choice.ok && choice.provider, 'vonage');
  });

  test('the cheapest provider out of rotation leaves the next cheapest, with the reason', () => {
    const { router } = testRouter({ default: twoProviders('cheapest') });
    router.recordRequest('vonage', { result: 'not-reached' });
    const choice = router.choose(INDIA, 1);
    assert.equal(choice.ok && choice.provider, 'twilio');
    assert.equal(
      choice.ok && choice.reason,
      'cheapest healthy for default: twilio $0.08/segment (vonage out of rotation (connection refused))',
    );
  });
});

describe('weighted', () => {
  test('10,000 picks split by the weights (seeded, so the figure is exact each run)', () => {
    const { router } = testRouter({
      default: twoProviders('weighted', { twilio: [70, 0.08], vonage: [30, 0.05] }),
    });
    let twilio = 0;
    for (let i = 0; i < 10_000; i++) {
      const choice = router.choose(US, 1);
      assert.ok(choice.ok);
      if (choice.provider === 'twilio') twilio++;
    }
    assert.ok(Math.abs(twilio / 10_000 - 0.7) < 0.015, `twilio got ${twilio} of 10,000`);
  });

  test('the reason shows the current weights and the pick', () => {
    const { router } = testRouter({
      default: twoProviders('weighted', { twilio: [70, 0.08], vonage: [30, 0.05] }),
    });
    const choice = router.choose(US, 1);
    assert.match(
      choice.ok ? choice.reason : '',
      /^weighted for default twilio 70\/vonage 30 → (twilio|vonage)$/,
    );
  });

  test('a provider with weight 0 gets nothing while the other is available', () => {
    const { router } = testRouter({
      default: twoProviders('weighted', { twilio: [100, 0.08], vonage: [0, 0.05] }),
    });
    for (let i = 0; i < 500; i++) {
      const choice = router.choose(US, 1);
      assert.equal(choice.ok && choice.provider, 'twilio');
    }
  });
});

describe('priority', () => {
  test('the first in order while it is healthy', () => {
    const { router } = testRouter(DEFAULT_ROUTES);
    const choice = router.choose('+33612345678', 1);
    assert.equal(choice.ok && choice.provider, 'twilio');
    assert.equal(choice.ok && choice.reason, 'priority for default: twilio');
  });

  test('falls back to the next when the first is out of rotation, and says why', () => {
    const { router } = testRouter(DEFAULT_ROUTES);
    router.recordRequest('twilio', { result: 'not-reached' });
    const choice = router.choose('+33612345678', 1);
    assert.equal(choice.ok && choice.provider, 'vonage');
    assert.equal(
      choice.ok && choice.reason,
      'priority for default: vonage (twilio out of rotation (connection refused))',
    );
  });
});

describe('exclude and no provider', () => {
  test('a provider already tried for this delivery is not chosen again', () => {
    const { router } = testRouter({ IN: twoProviders('cheapest'), default: twoProviders('priority') });
    const choice = router.choose(INDIA, 1, ['vonage']);
    assert.equal(choice.ok && choice.provider, 'twilio');
    assert.match(choice.ok ? choice.reason : '', /vonage already tried/);
  });

  test('both tried: a clear "no provider available", with nothing to wait for', () => {
    const { router } = testRouter({ default: twoProviders('weighted') });
    const choice = router.choose(INDIA, 1, ['twilio', 'vonage']);
    assert.deepEqual(choice, {
      ok: false,
      country: 'IN',
      route: 'default',
      reason: 'no provider available for default: twilio already tried; vonage already tried',
      retryAfterMs: null,
    });
  });

  test('one tried, the other out of rotation: retry when its probe falls due', () => {
    const { router } = testRouter({ default: twoProviders('priority') }, { probeBackoffMs: 30_000 });
    router.recordRequest('vonage', { result: 'refused', refusal: 'auth' });
    const choice = router.choose(INDIA, 1, ['twilio']);
    assert.equal(choice.ok, false);
    assert.equal(!choice.ok && choice.retryAfterMs, 30_000);
    assert.match(!choice.ok ? choice.reason : '', /vonage out of rotation \(auth error\)/);
  });

  test('every provider out of rotation and none tried yet: the SMS goes anyway, by the strategy (last resort)', () => {
    const { router } = testRouter({ default: twoProviders('priority') });
    router.recordRequest('twilio', { result: 'not-reached' });
    router.recordRequest('vonage', { result: 'refused', refusal: 'auth' });
    const choice = router.choose(INDIA, 1);
    assert.equal(choice.ok && choice.provider, 'twilio');
    assert.match(choice.ok ? choice.reason : '', /^last resort, none in rotation: priority for default/);
    assert.equal(router.choose(INDIA, 1, ['twilio']).ok, false, 'after a refusal the rotation holds');
  });

  test('a route whose only configured provider is out of rotation still sends through it, never the unconfigured one', () => {
    const single = new SmsRouter({
      config: { routes: { default: twoProviders('cheapest') }, health: DEFAULT_HEALTH },
      providers: ['twilio'],
      clock: new TestClock(0),
    });
    for (let i = 0; i < 3; i++) single.recordRequest('twilio', { result: 'server-error' });
    const choice = single.choose(INDIA, 1);
    assert.equal(choice.ok && choice.provider, 'twilio');
  });

  test('a provider the service has not configured is passed over', () => {
    const { router } = testRouter({
      default: {
        strategy: 'priority',
        providers: [
          { name: 'sinch', weight: 50, perSegment: 0.01, currency: 'USD' },
          ...twoProviders('priority').providers,
        ],
      },
    });
    const choice = router.choose(INDIA, 1);
    assert.equal(choice.ok && choice.provider, 'twilio');
    assert.match(choice.ok ? choice.reason : '', /sinch not configured/);
  });

  test('a provider the router was not given cannot be reported on: a programming error', () => {
    const { router } = testRouter({ default: twoProviders('priority') });
    assert.throws(
      () => router.recordRequest('sinch', { result: 'accepted' }),
      /sinch is not one the router was given/,
    );
  });

  test('an ISO country code routes like a number of that country', () => {
    const { router } = testRouter({ IN: twoProviders('cheapest'), default: twoProviders('priority') });
    const choice = router.choose('IN', 1);
    assert.equal(choice.ok && choice.route, 'IN');
  });
});
