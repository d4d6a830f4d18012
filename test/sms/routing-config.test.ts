import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { DEFAULT_SMS_PRICES } from '../../src/channels/sms/cost.ts';
import {
  DEFAULT_HEALTH,
  DEFAULT_ROUTES,
  parseRoutingConfig,
  routeCost,
  routeFor,
} from '../../src/channels/sms/routing/routing-config.ts';
import { ConfigError } from '../../src/config.ts';

const vonage = { name: 'vonage', weight: 50, perSegment: 0.05, currency: 'USD' };
const twilio = { name: 'twilio', weight: 50, perSegment: 0.08, currency: 'USD' };
const route = (providers: unknown[], strategy = 'cheapest') => ({ strategy, providers });
const config = (routes: Record<string, unknown>, health?: unknown) =>
  JSON.stringify({ routes: { default: route([twilio]), ...routes }, ...(health ? { health } : {}) });

describe('parseRoutingConfig', () => {
  test('parses routes and fills the health thresholds it was not given', () => {
    const parsed = parseRoutingConfig(config({ IN: route([vonage, twilio]) }, { slowShare: 0.2 }));
    assert.deepEqual(parsed.routes['IN'], { strategy: 'cheapest', providers: [vonage, twilio] });
    assert.deepEqual(parsed.health, { ...DEFAULT_HEALTH, slowShare: 0.2 });
  });

  const invalid: Array<[string, string, RegExp]> = [
    ['broken JSON', '{"routes":', /not valid JSON/],
    ['no default route', JSON.stringify({ routes: { IN: route([twilio]) } }), /"default" route is required/],
    ['a lowercase country', config({ in: route([twilio]) }), /routes\.in: must be an ISO country code/],
    [
      'a negative price, naming country, provider and field',
      config({ IN: route([vonage, { ...twilio, perSegment: -1 }]) }),
      /routes\.IN\.providers\[1\] \(twilio\)\.perSegment: must be positive/,
    ],
    [
      'a weight over 100',
      config({ US: route([{ ...vonage, weight: 150 }]) }),
      /routes\.US\.providers\[0\] \(vonage\)\.weight: must be at most 100/,
    ],
    [
      'an unknown strategy',
      config({ IN: route([twilio], 'fastest') }),
      /routes\.IN\.strategy: .*cheapest.*weighted.*priority/,
    ],
    ['no providers', config({ IN: route([]) }), /routes\.IN\.providers: must name at least one provider/],
    [
      'a provider twice',
      config({ IN: route([twilio, twilio]) }),
      /routes\.IN\.providers\[1\] \(twilio\)\.name: twilio is listed twice/,
    ],
    [
      'weighted with every weight 0',
      config({ US: route([{ ...twilio, weight: 0 }], 'weighted') }),
      /routes\.US\.providers: weighted needs a weight above 0/,
    ],
    [
      'mixed currencies',
      config({ IN: route([{ ...vonage, currency: 'INR' }]) }),
      /routes: all prices must use one currency/,
    ],
    [
      'an unknown provider field',
      config({ IN: route([{ ...twilio, tax: 1 }]) }),
      /routes\.IN\.providers\[0\] \(twilio\)/,
    ],
    ['a share above 1', config({}, { slowShare: 15 }), /health\.slowShare: is a share: at most 1/],
    ['an unknown threshold', config({}, { slowMinutes: 5 }), /health: .*slowMinutes/],
    [
      'a backoff cap below the first backoff',
      config({}, { probeBackoffMs: 60_000, probeBackoffMaxMs: 1000 }),
      /health\.probeBackoffMaxMs: must be ≥ probeBackoffMs/,
    ],
  ];
  for (const [name, json, message] of invalid) {
    test(`refuses ${name} with a clear ConfigError`, () => {
      assert.throws(
        () => parseRoutingConfig(json),
        (err: unknown) => err instanceof ConfigError && message.test(err.message),
      );
    });
  }
});

describe('the default routes', () => {
  test('parse as a config themselves', () => {
    assert.deepEqual(parseRoutingConfig(JSON.stringify({ routes: DEFAULT_ROUTES })).routes, DEFAULT_ROUTES);
  });

  test('price Twilio as the cost estimate does, for IN, US and every other country', () => {
    for (const [key, table] of [
      ['IN', 'IN'],
      ['US', 'US'],
      ['default', 'default'],
    ] as const) {
      const price = DEFAULT_ROUTES[key]!.providers.find((p) => p.name === 'twilio')!;
      assert.equal(price.perSegment, DEFAULT_SMS_PRICES[table]!.perSegment, key);
    }
  });
});

describe("docs/sms.md's Routing section", () => {
  const doc = readFileSync(new URL('../../docs/sms.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Routing'), doc.indexOf('## Common errors'));

  test('shows the default routes as they are', () => {
    const json = /```json\n([\s\S]*?)```/.exec(section)![1]!;
    assert.deepEqual(parseRoutingConfig(json).routes, DEFAULT_ROUTES);
  });

  test('names every health threshold with its default', () => {
    for (const [key, value] of Object.entries(DEFAULT_HEALTH)) {
      const row = section.split('\n').find((line) => line.includes(`\`${key}\``));
      assert.ok(row, `${key} is not in the table`);
      assert.ok(row.includes(String(value)), `${key}'s row lacks its default ${value}`);
    }
  });
});

describe('routeFor and routeCost', () => {
  test('a listed country gets its route, any other the default', () => {
    assert.equal(routeFor(DEFAULT_ROUTES, 'IN').key, 'IN');
    assert.equal(routeFor(DEFAULT_ROUTES, 'FR').key, 'default');
    assert.equal(routeFor(DEFAULT_ROUTES, undefined).key, 'default');
  });

  test('the cost of a route is its price per segment × segments', () => {
    assert.deepEqual(routeCost(vonage, 3), { amount: 0.15, currency: 'USD', perSegment: 0.05 });
    assert.throws(() => routeCost(vonage, 1.5), RangeError);
  });
});
