import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { asc, eq } from 'drizzle-orm';
import type { RunningApp } from '../../src/app.ts';
import { deliveryStatusHistory } from '../../src/db/schema.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { notify, smsDelivery, smsUser, startSmsApp, waitForSmsStatus } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

/**
 * Both providers on the sandbox, Twilio first for India (priority): what Twilio's side does decides
 * where each SMS goes, counted at both of the sandbox's APIs. Never twice: a clear refusal fails
 * over at once, an answer that may hide a send is first reconciled with Twilio, and a refusal of the
 * number itself is not failed over.
 */
describe(`SMS routing across Twilio and Vonage (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  let dir: string;
  const throttled = '+919876500601';
  const serverError = '+919876500602';
  const hanging = '+919876500603';
  const landline = '+919876500604';
  const healthy = '+919876500605';
  const vonageHanging = '+14155552671';
  const vonageRefusing = '+14155552673';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lc-routing-'));
    const routing = join(dir, 'routing.json');
    writeFileSync(
      routing,
      JSON.stringify({
        routes: {
          IN: {
            strategy: 'priority',
            providers: [
              { name: 'twilio', weight: 100, perSegment: 0.05, currency: 'USD' },
              { name: 'vonage', weight: 0, perSegment: 0.04, currency: 'USD' },
            ],
          },
          // Vonage first: what Vonage's side does decides.
          US: {
            strategy: 'priority',
            providers: [
              { name: 'vonage', weight: 100, perSegment: 0.01, currency: 'USD' },
              { name: 'twilio', weight: 0, perSegment: 0.02, currency: 'USD' },
            ],
          },
          default: {
            strategy: 'priority',
            providers: [{ name: 'twilio', weight: 100, perSegment: 0.1, currency: 'USD' }],
          },
        },
      }),
    );
    t = await createTestDatabase();
    app = await startSmsApp(t, {
      SMS_PROVIDERS: 'twilio,vonage',
      SMS_ROUTING_FILE: routing,
      SMS_REQUEST_TIMEOUT_MS: '300',
    });
    app.sms.sandbox!.setFaults({
      byNumber: {
        [throttled]: { rate429: 1 },
        [serverError]: { rate5xx: 1 },
        [hanging]: { rateHang: 1 },
        [landline]: { createError: 21614 },
        [vonageHanging]: { provider: 'vonage', rateHang: 1 },
        [vonageRefusing]: { provider: 'vonage', rate5xx: 1 },
      },
    });
  });
  after(async () => {
    app.sms.sandbox!.setFaults({});
    await app.close();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const atSandbox = (phone: string) => app.sms.sandbox!.messages().filter((m) => m.to === phone);
  const route = (d: { details: unknown }) =>
    (
      d.details as {
        route: {
          provider: string;
          requested_at: string;
          tried: Array<{ provider: string; outcome: string }>;
        };
      }
    ).route;
  const settled = async (id: string) =>
    waitFor(async () => {
      const d = await smsDelivery(t.database.db, id);
      return ['sent', 'delivered', 'failed'].includes(d.status) ? d : undefined;
    }, 15_000);

  test('the route’s first provider sends when it is healthy, with its price and the provider recorded', async () => {
    await smsUser(t.database.db, 'route-healthy', healthy);
    const d = await settled(await notify(app, 'route-healthy'));
    assert.notEqual(d.status, 'failed');
    assert.deepEqual(
      atSandbox(healthy).map((m) => m.provider),
      ['twilio'],
    );
    assert.equal(route(d).provider, 'twilio');
    assert.equal(Number(d.costAmount), 0.05);
    assert.equal((d.metadata as { sms: { provider: string } }).sms.provider, 'twilio');
  });

  test('a clear refusal (429) fails over to Vonage at once, in the same attempt', async () => {
    await smsUser(t.database.db, 'route-429', throttled);
    const d = await settled(await notify(app, 'route-429'));
    assert.notEqual(d.status, 'failed');
    assert.equal(d.attempts, 1);
    assert.deepEqual(
      atSandbox(throttled).map((m) => m.provider),
      ['vonage'],
    );
    assert.deepEqual(
      route(d).tried.map((x) => [x.provider, x.outcome]),
      [
        ['twilio', 'known-refusal'],
        ['vonage', 'ok'],
      ],
    );
    assert.equal(d.providerMessageId, atSandbox(throttled)[0]!.sid);
    assert.equal(Number(d.costAmount), 0.04);
    assert.ok(Number((d.details as { price?: string }).price) > 0, 'Vonage reported what it charged');
  });

  test('a 5xx is reconciled with Twilio first, then sent once through Vonage', async () => {
    await smsUser(t.database.db, 'route-5xx', serverError);
    const d = await settled(await notify(app, 'route-5xx'));
    assert.notEqual(d.status, 'failed');
    assert.equal(d.attempts, 2);
    assert.deepEqual(
      atSandbox(serverError).map((m) => m.provider),
      ['vonage'],
    );
    const history = await t.database.db
      .select()
      .from(deliveryStatusHistory)
      .where(eq(deliveryStatusHistory.deliveryId, Number(d.id)))
      .orderBy(asc(deliveryStatusHistory.id));
    // The sandbox answers 500 or 503 (Twilio's 20500 / 20503).
    assert.ok(history.some((h) => h.toStatus === 'queued' && /^2050[03]$/.test(h.errorCode ?? '')));
    assert.match(history.find((h) => h.toStatus === 'sent')?.detail ?? '', /^via vonage \(priority for IN/);
    assert.equal(route(d).provider, 'vonage');
  });

  test('a hang that did send at Twilio is adopted, not sent again anywhere', async () => {
    await smsUser(t.database.db, 'route-hang', hanging);
    const d = await settled(await notify(app, 'route-hang'));
    assert.notEqual(d.status, 'failed');
    const sent = atSandbox(hanging);
    assert.deepEqual(
      sent.map((m) => m.provider),
      ['twilio'],
    );
    assert.equal(d.providerMessageId, sent[0]!.sid);
    assert.equal((d.details as { reconciled?: boolean }).reconciled, true);
  });

  test('a refusal of the number itself (landline) is not failed over', async () => {
    await smsUser(t.database.db, 'route-landline', landline);
    const d = await settled(await notify(app, 'route-landline'));
    assert.equal(d.status, 'failed');
    assert.equal(d.errorCode, '21614');
    assert.deepEqual(atSandbox(landline), []);
    assert.deepEqual(
      route(d).tried.map((x) => [x.provider, x.outcome]),
      [['twilio', 'permanent-recipient']],
    );
  });

  test('a Vonage send that got no answer but did go out is adopted from its receipt, not sent again', async () => {
    await smsUser(t.database.db, 'route-vonage-hang', vonageHanging);
    const d = await waitForSmsStatus(t.database.db, await notify(app, 'route-vonage-hang'), 'delivered');
    const sent = atSandbox(vonageHanging);
    assert.deepEqual(
      sent.map((m) => m.provider),
      ['vonage'],
    );
    assert.equal(d.providerMessageId, sent[0]!.sid);
    assert.equal((d.details as { reconciled?: boolean }).reconciled, true);
    assert.ok(d.attempts >= 2);
  });
  test('a Vonage send in doubt with no receipt yet is sent nowhere else; it is asked again when the window ends', async () => {
    await smsUser(t.database.db, 'route-vonage-pending', vonageRefusing);
    const id = await notify(app, 'route-vonage-pending');
    const d = await waitFor(async () => {
      const row = await smsDelivery(t.database.db, id);
      return row.errorCode === 'LOOKUP_FAILED' && row.status === 'queued' ? row : undefined;
    });
    assert.deepEqual(atSandbox(vonageRefusing), []);
    const requested = Date.parse(route(d).requested_at);
    // VONAGE_RECONCILE_WINDOW_MS (10 min by default) after the request in doubt, not the 100 ms retry pace.
    assert.ok(
      d.nextAttemptAt!.getTime() - requested > 9 * 60_000,
      `next attempt ${d.nextAttemptAt!.toISOString()}`,
    );
    assert.match(d.errorMessage ?? '', /No Vonage receipt yet/);
  });
});

describe(`a Vonage send in doubt with no receipt in the window (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  let dir: string;
  const refusing = '+14155552672';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lc-routing-'));
    const routing = join(dir, 'routing.json');
    const vonageFirst = {
      strategy: 'priority',
      providers: [
        { name: 'vonage', weight: 100, perSegment: 0.01, currency: 'USD' },
        { name: 'twilio', weight: 0, perSegment: 0.02, currency: 'USD' },
      ],
    };
    writeFileSync(routing, JSON.stringify({ routes: { default: vonageFirst } }));
    t = await createTestDatabase();
    // No window: a send in doubt without a receipt counts as not sent at once.
    app = await startSmsApp(t, {
      SMS_PROVIDERS: 'twilio,vonage',
      SMS_ROUTING_FILE: routing,
      VONAGE_RECONCILE_WINDOW_MS: '0',
    });
    app.sms.sandbox!.setFaults({ byNumber: { [refusing]: { provider: 'vonage', rate5xx: 1 } } });
  });
  after(async () => {
    app.sms.sandbox!.setFaults({});
    await app.close();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a Vonage 5xx that created nothing is sent once through Twilio', async () => {
    await smsUser(t.database.db, 'vonage-5xx', refusing);
    const d = await waitForSmsStatus(t.database.db, await notify(app, 'vonage-5xx'), 'delivered');
    assert.deepEqual(
      app.sms
        .sandbox!.messages()
        .filter((m) => m.to === refusing)
        .map((m) => m.provider),
      ['twilio'],
    );
    assert.equal((d.details as { route: { provider: string } }).route.provider, 'twilio');
  });
});
