import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import { getCountries } from 'libphonenumber-js/max';
import { type RunningApp, startApp } from '../../src/app.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { deliveries, notifications, users } from '../../src/db/schema.ts';
import { createNotification } from '../../src/notifications/create-notification.ts';
import { deliveryPolicyConfig } from '../../src/preferences/delivery-policy.ts';
import { isTimeZone } from '../../src/time-zone.ts';
import {
  CURRENT_NAME,
  countryTimeZone,
  DEFAULT_TIME_ZONE,
  effectiveTimeZone,
  MAIN_ZONE,
} from '../../src/user-time-zone.ts';
import { notificationDeps, testConfig } from '../helpers/fixtures.ts';
import { smsUser } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

const US = '+12015550123';
const IN = '+919876543210';
const ADMIN_KEY = 'lc_test_admin_key_phone_time_zone_0001';

describe('the zone a phone number implies (pure)', () => {
  test('own setting, else the phone country, else the default', () => {
    assert.deepEqual(effectiveTimeZone({ timeZone: 'Europe/London', phone: US }), {
      zone: 'Europe/London',
      source: 'user',
    });
    assert.deepEqual(effectiveTimeZone({ timeZone: null, phone: US }), {
      zone: 'America/New_York',
      source: 'phone',
    });
    assert.deepEqual(effectiveTimeZone({ timeZone: null, phone: IN }), {
      zone: 'Asia/Kolkata',
      source: 'phone',
    });
    assert.deepEqual(effectiveTimeZone({ timeZone: null, phone: null }), {
      zone: DEFAULT_TIME_ZONE,
      source: 'default',
    });
    // A number whose country cannot be told (not a valid number anywhere): the default.
    assert.equal(effectiveTimeZone({ timeZone: null, phone: '+999123' }).source, 'default');
  });

  test('+1 is told apart by area code as far as the country: US, Canada, Jamaica', () => {
    const zone = (phone: string) => effectiveTimeZone({ timeZone: null, phone }).zone;
    assert.equal(zone('+14165550123'), 'America/Toronto');
    assert.equal(zone('+18765550123'), 'America/Jamaica');
    assert.equal(zone('+61412345678'), 'Australia/Sydney');
    assert.equal(zone('+5511987654321'), 'America/Sao_Paulo');
  });

  test("every phone country gets a zone this runtime knows, a several-zone one from MAIN_ZONE, by today's name", () => {
    const unchosen: string[] = [];
    for (const country of getCountries()) {
      const zones = new Intl.Locale(`und-${country}`) as Intl.Locale & { getTimeZones(): string[] };
      if (zones.getTimeZones().length > 1 && !MAIN_ZONE[country]) unchosen.push(country);
      const zone = countryTimeZone(country);
      assert.ok(zone && isTimeZone(zone), `${country}: ${zone}`);
      assert.ok(!(zone in CURRENT_NAME), `${country}: ${zone} is an old name`);
    }
    assert.deepEqual(unchosen, [], 'countries with several zones need their main zone in MAIN_ZONE');
  });
});

describe(`quiet hours follow the phone's zone when the user has none (${ENGINE})`, () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(() => t.close());
  const db = () => t.database.db;

  /** When the SMS of a regular notification created at `at` is due (quiet hours 21:00-08:00). */
  async function smsDue(userId: string, at: string): Promise<string | undefined> {
    const deps = {
      ...notificationDeps(db(), ['in_app', 'sms']),
      policy: deliveryPolicyConfig(testConfig({ QUIET_HOURS_DEFAULT: '21:00-08:00' })),
      now: () => new Date(at),
    };
    const { notificationId } = await createNotification(deps, {
      userId,
      type: 'order_picked_up',
      context: getNotificationType('order_picked_up')!.sampleContext,
    });
    const [row] = await db()
      .select({ next: deliveries.nextAttemptAt, status: deliveries.status })
      .from(deliveries)
      .innerJoin(notifications, eq(notifications.id, deliveries.notificationId))
      .where(and(eq(notifications.notificationId, notificationId), eq(deliveries.channel, 'sms')));
    assert.equal(row?.status, 'queued');
    return row.next?.toISOString();
  }

  // 22:30 in New York (EST), 09:00 the next morning in India.
  const NY_NIGHT = '2026-01-10T03:30:00.000Z';
  const NY_MORNING = '2026-01-10T13:00:00.000Z'; // 08:00 EST

  test('a +1 user without a zone is held until 08:00 New York time; a +91 one is not', async () => {
    const us = await smsUser(db(), 'tz-us', US);
    const india = await smsUser(db(), 'tz-in', IN);
    assert.equal(us.timeZone, null, 'created without a zone: none of their own');
    assert.equal(india.timeZone, null);
    assert.equal(await smsDue('tz-us', NY_NIGHT), NY_MORNING);
    assert.equal(await smsDue('tz-in', NY_NIGHT), NY_NIGHT);
  });

  test('their own zone wins over the phone (Tokyo: 12:30, day)', async () => {
    await smsUser(db(), 'tz-us-own', US);
    await db().update(users).set({ timeZone: 'Asia/Tokyo' }).where(eq(users.externalId, 'tz-us-own'));
    assert.equal(await smsDue('tz-us-own', NY_NIGHT), NY_NIGHT);
  });

  test('a new phone number moves the zone with it', async () => {
    await smsUser(db(), 'tz-moves', IN);
    assert.equal(await smsDue('tz-moves', NY_NIGHT), NY_NIGHT);
    await db().update(users).set({ phone: US }).where(eq(users.externalId, 'tz-moves'));
    assert.equal(await smsDue('tz-moves', NY_NIGHT), NY_MORNING);
  });
});

describe(`the user API shows the zone in effect and where it comes from (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  before(async () => {
    t = await createTestDatabase();
    app = await startApp({
      config: testConfig({ PORT: '0', ADMIN_API_KEY: ADMIN_KEY }),
      api: true,
      worker: false,
      database: t.database,
    });
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });

  async function put(id: string, body: Record<string, unknown>) {
    const res = await fetch(`${app.url}/api/v1/users/${id}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
  const zoneOf = (b: Record<string, unknown>) => [
    b['time_zone'],
    b['effective_time_zone'],
    b['effective_time_zone_source'],
  ];

  test('no phone: the default; a phone: its country; an own zone: that; null clears it', async () => {
    let res = await put('tz-api', { email: 'tz-api@example.com' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(zoneOf(res.body), [null, 'Asia/Kolkata', 'default']);
    res = await put('tz-api', { phone: US });
    assert.deepEqual(zoneOf(res.body), [null, 'America/New_York', 'phone']);
    res = await put('tz-api', { time_zone: 'America/Los_Angeles' });
    assert.deepEqual(zoneOf(res.body), ['America/Los_Angeles', 'America/Los_Angeles', 'user']);
    res = await put('tz-api', { phone: IN });
    assert.deepEqual(zoneOf(res.body), ['America/Los_Angeles', 'America/Los_Angeles', 'user'], 'own wins');
    res = await put('tz-api', { time_zone: null });
    assert.deepEqual(zoneOf(res.body), [null, 'Asia/Kolkata', 'phone']);
    res = await put('tz-api', { time_zone: 'Mars/Olympus' });
    assert.equal(res.status, 400);
  });
});
