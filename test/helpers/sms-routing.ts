import {
  DEFAULT_HEALTH,
  type HealthSettings,
  type Route,
  type RouteTable,
} from '../../src/channels/sms/routing/routing-config.ts';
import { SmsRouter } from '../../src/channels/sms/routing/sms-router.ts';
import { TestClock } from '../../src/clock.ts';
import { seededRandom } from '../../src/seeded-random.ts';

/** A route of twilio and vonage with these weights and prices, in that order. */
export function twoProviders(
  strategy: Route['strategy'],
  { twilio = [50, 0.08], vonage = [50, 0.05] }: { twilio?: [number, number]; vonage?: [number, number] } = {},
): Route {
  return {
    strategy,
    providers: [
      { name: 'twilio', weight: twilio[0], perSegment: twilio[1], currency: 'USD' },
      { name: 'vonage', weight: vonage[0], perSegment: vonage[1], currency: 'USD' },
    ],
  };
}

/** Where the tests' clocks start: on a minute, so the window's one-minute buckets slide at whole minutes. */
export const START = Date.UTC(2026, 11, 3, 6, 0, 0);

/** A router over `routes` with both providers configured, a TestClock and a seeded random source. */
export function testRouter(routes: RouteTable, health: Partial<HealthSettings> = {}, seed = 17) {
  const clock = new TestClock(START);
  const router = new SmsRouter({
    config: { routes, health: { ...DEFAULT_HEALTH, ...health } },
    providers: ['twilio', 'vonage'],
    clock,
    random: seededRandom(seed),
  });
  return { clock, router };
}

export const INDIA = '+919876543210';
export const US = '+14155551234';
