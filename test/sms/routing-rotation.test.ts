import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SmsRouter } from '../../src/channels/sms/routing/sms-router.ts';
import { INDIA, START, testRouter, twoProviders } from '../helpers/sms-routing.ts';

const SECOND = 1000;

/** Twilio first by priority, so every choice shows whether it is in rotation. */
const routes = () => ({ default: twoProviders('priority') });

function chosen(router: SmsRouter): string | null {
  const choice = router.choose(INDIA, 1);
  return choice.ok ? choice.provider : null;
}

function twilioState(router: SmsRouter) {
  return router.snapshot().providers.find((p) => p.name === 'twilio')!;
}

describe('outright failure and the probe', () => {
  test('connection refused takes the provider out at once; after 30 s one probe goes, and its success brings it back', () => {
    const { router, clock } = testRouter(routes());
    assert.equal(chosen(router), 'twilio');
    router.recordRequest('twilio', { result: 'not-reached' });
    assert.equal(chosen(router), 'vonage', 'out at once: the next SMS goes elsewhere');
    assert.equal(twilioState(router).state, 'out');

    clock.advance(30 * SECOND - 1);
    assert.equal(chosen(router), 'vonage', 'no probe before the backoff is over');
    clock.advance(1);
    const probe = router.choose(INDIA, 1);
    assert.deepEqual(probe.ok && { provider: probe.provider, probe: probe.probe, reason: probe.reason }, {
      provider: 'twilio',
      probe: true,
      reason: 'probe of twilio for default (out of rotation: connection refused)',
    });
    assert.equal(twilioState(router).state, 'probing');
    for (let i = 0; i < 5; i++) assert.equal(chosen(router), 'vonage', 'ONE request is the probe');

    router.recordRequest('twilio', { result: 'accepted' });
    assert.equal(twilioState(router).state, 'in_rotation');
    assert.equal(chosen(router), 'twilio');
    assert.deepEqual(
      router
        .snapshot()
        .history.map(({ at, from, to, reason }) => [(Date.parse(at) - START) / SECOND, from, to, reason]),
      [
        [0, 'in', 'out', 'connection refused'],
        [30, 'out', 'probing', 'probe after 30 s out'],
        [30, 'probing', 'in', 'probe succeeded (ok)'],
      ],
    );
  });

  test('back by its probe, a provider is not held unhealthy by the failures that took it out', () => {
    const { router, clock } = testRouter(routes());
    // Out after 3 in a row; the requests in flight then fail too, all in the window.
    for (let i = 0; i < 12; i++) router.recordRequest('twilio', { result: 'server-error' });
    assert.equal(chosen(router), 'vonage');
    clock.advance(30 * SECOND);
    assert.equal(chosen(router), 'twilio', 'the probe');
    router.recordRequest('twilio', { result: 'accepted' });
    assert.equal(twilioState(router).healthy, true);
    assert.equal(chosen(router), 'twilio', 'priority sends it traffic again at once');
  });

  test('a failed probe doubles the backoff, up to 5 min', () => {
    const { router, clock } = testRouter(routes());
    router.recordRequest('twilio', { result: 'refused', refusal: 'auth' });
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      const next = Date.parse(twilioState(router).nextProbeAt!);
      waits.push((next - clock.now()) / SECOND);
      clock.advance(next - clock.now());
      const probe = router.choose(INDIA, 1);
      assert.equal(probe.ok && probe.probe, true);
      router.recordRequest('twilio', { result: 'refused', refusal: 'auth' });
      assert.equal(chosen(router), 'vonage');
    }
    assert.deepEqual(waits, [30, 60, 120, 240, 300, 300]);
    assert.equal(twilioState(router).outCause, 'auth error', 'it stays out for what took it out');
  });

  test('a probe whose outcome never comes counts as failed after the probe timeout', () => {
    const { router, clock } = testRouter(routes(), { probeTimeoutMs: 60 * SECOND });
    router.recordRequest('twilio', { result: 'not-reached' });
    clock.advance(30 * SECOND);
    assert.ok(router.choose(INDIA, 1).ok);
    clock.advance(60 * SECOND - 1);
    assert.equal(twilioState(router).state, 'probing');
    clock.advance(1);
    const state = twilioState(router);
    assert.equal(state.state, 'out');
    assert.equal(Date.parse(state.nextProbeAt!) - clock.now(), 60 * SECOND);
    assert.equal(
      router.snapshot().history.at(-1)!.reason,
      'probe got no outcome in time; next probe in 60 s',
    );
  });

  test('3 5xx answers or timeouts in a row take it out; an answer between them resets the count', () => {
    const { router } = testRouter(routes());
    router.recordRequest('twilio', { result: 'server-error' });
    router.recordRequest('twilio', { result: 'no-answer' });
    router.recordRequest('twilio', { result: 'accepted' });
    router.recordRequest('twilio', { result: 'server-error' });
    router.recordRequest('twilio', { result: 'server-error' });
    assert.equal(chosen(router), 'twilio', 'two in a row since the last answer');
    router.recordRequest('twilio', { result: 'no-answer' });
    assert.equal(chosen(router), 'vonage');
    assert.equal(twilioState(router).outCause, '3 5xx/timeouts in a row');
  });

  test('the number in a row is the config’s', () => {
    const { router } = testRouter(routes(), { consecutiveServerFailures: 1 });
    router.recordRequest('twilio', { result: 'server-error' });
    assert.equal(chosen(router), 'vonage');
  });

  test('a probe is not sent for a delivery that already tried that provider', () => {
    const { router, clock } = testRouter(routes());
    router.recordRequest('twilio', { result: 'not-reached' });
    clock.advance(30 * SECOND);
    const choice = router.choose(INDIA, 1, ['twilio']);
    assert.equal(choice.ok && choice.provider, 'vonage');
    assert.equal(twilioState(router).state, 'out', 'the probe waits for another delivery');
  });

  test('429s and recipient errors do not take a provider out', () => {
    const { router } = testRouter(routes(), { minRequests: 1000 });
    for (let i = 0; i < 20; i++) router.recordRequest('twilio', { result: 'refused', refusal: 'throttled' });
    for (let i = 0; i < 20; i++) router.recordRequest('twilio', { result: 'refused', refusal: 'recipient' });
    assert.equal(chosen(router), 'twilio');
  });
});
