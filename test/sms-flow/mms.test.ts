import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import type { RunningApp } from '../../src/app.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { deliveryStatusHistory, trackedLinks } from '../../src/db/schema.ts';
import { retryPolicies } from '../../src/deliveries/retry-policy.ts';
import { AppError } from '../../src/errors.ts';
import { createNotification } from '../../src/notifications/create-notification.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { smsDelivery, smsUser, startSmsApp, waitForSmsStatus } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

/** What the media host answers to a HEAD of each path: [content type, length]. */
const MEDIA: Record<string, [string, number]> = {
  '/bag.jpg': ['image/jpeg', 48_213],
  '/receipt.png': ['image/png', 20_480],
  '/page.html': ['text/html; charset=utf-8', 1_024],
  '/huge.png': ['image/png', 12 * 1024 * 1024],
};

/** A real https media host on localhost, with a certificate made for this run (MMS_MEDIA_CA_FILE). */
function startMediaHost(dir: string): Promise<Server> {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  const server = createServer(
    { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
    (req, res) => {
      const found = MEDIA[req.url ?? ''];
      if (!found) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': found[0], 'content-length': found[1] }).end();
    },
  );
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe(`MMS through the Twilio sandbox (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  let host: Server;
  let dir: string;
  let base: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lcn-mms-'));
    host = await startMediaHost(dir);
    base = `https://localhost:${(host.address() as AddressInfo).port}`;
    t = await createTestDatabase();
    app = await startSmsApp(t, {
      MMS_MEDIA_HOSTS: 'localhost',
      MMS_MEDIA_CA_FILE: join(dir, 'cert.pem'),
      // The media host is on this machine: the SSRF guard lets it through only with this.
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    });
  });
  after(async () => {
    await app.close();
    await t.close();
    await new Promise((resolve) => host.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });
  const db = () => t.database.db;
  const deps = () => ({
    db: db(),
    templates: app.templates,
    retryPolicies: retryPolicies(app.config),
    availableChannels: new Set(['in_app', 'sms'] as const),
    mediaHosts: app.config.MMS_MEDIA_HOSTS ?? [],
  });
  const notify = async (userId: string, media: unknown) => {
    const { notificationId } = await createNotification(deps(), {
      userId,
      type: 'order_picked_up',
      context: { ...getNotificationType('order_picked_up')!.sampleContext, media_urls: media },
    });
    return notificationId;
  };
  const atSandbox = (sid: string | null) => app.sms.sandbox!.messages().find((m) => m.sid === sid)!;
  const historyDetails = async (id: number) =>
    (await db().select().from(deliveryStatusHistory).where(eq(deliveryStatusHistory.deliveryId, id)))
      .map((h) => h.detail ?? '')
      .join('\n');

  test('an SMS with media to a US number is an MMS at the sandbox: num_media and the media URLs', async () => {
    await smsUser(db(), 'mms-us', '+14155552671');
    const media = [`${base}/bag.jpg`, `${base}/receipt.png`];
    const d = await waitForSmsStatus(db(), await notify('mms-us', media), 'delivered');
    const sent = atSandbox(d.providerMessageId);
    assert.equal(sent.provider, 'twilio');
    assert.equal(sent.numMedia, 2);
    assert.deepEqual(sent.mediaUrls, media);
    assert.doesNotMatch(sent.body, /\/l\//);
    assert.deepEqual((d.details as Record<string, unknown>)['mms'], {
      media: 2,
      sent_as: 'mms',
      reason: null,
    });
    assert.match(await historyDetails(d.id), /MMS with 2 images/);
  });

  test('to an Indian number the media goes as tracked links in the text, and the delivery says so', async () => {
    await smsUser(db(), 'mms-in', '+919876502001');
    const media = [`${base}/bag.jpg`, `${base}/receipt.png`];
    const d = await waitForSmsStatus(db(), await notify('mms-in', media), 'delivered');
    const sent = atSandbox(d.providerMessageId);
    assert.equal(sent.numMedia, 0);
    const links = [...sent.body.matchAll(/(\S+\/l\/[A-Za-z0-9_-]{12})/g)].map((m) => m[1]!);
    assert.equal(links.length, 2, sent.body);
    assert.match(sent.body, /\nPhotos: /);
    const rows = await db().select().from(trackedLinks).where(eq(trackedLinks.deliveryId, d.id));
    assert.deepEqual(rows.map((r) => r.target).sort(), [...media].sort());
    const res = await fetch(links[0]!, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), media[0]);
    const mms = (d.details as Record<string, unknown>)['mms'] as Record<string, unknown>;
    assert.equal(mms['sent_as'], 'links');
    assert.match(String(mms['reason']), /does not receive MMS/);
    assert.match(await historyDetails(d.id), /2 images as tracked links/);
  });

  test('media of a disallowed host, not https, or more than 10 is refused at creation, naming it', async () => {
    await smsUser(db(), 'mms-bad', '+14155552672');
    const cases: Array<[unknown, RegExp]> = [
      [['https://evil.example/x.jpg'], /evil\.example is not an allowed media host/],
      [[`http://localhost/bag.jpg`], /only https media, not http:/],
      [['not a url'], /is not a URL/],
      [Array.from({ length: 11 }, () => `${base}/bag.jpg`), /at most 10 media URLs/],
    ];
    for (const [media, message] of cases) {
      await assert.rejects(
        notify('mms-bad', media),
        (err: unknown) =>
          err instanceof AppError && err.code === 'MEDIA_URL_REFUSED' && message.test(err.message),
      );
    }
  });

  test('media that is not an image, or too large, fails the delivery before anything is sent', async () => {
    await smsUser(db(), 'mms-type', '+14155552673');
    const before = app.sms.sandbox!.messages().length;
    for (const [path, reason] of [
      ['/page.html', /text\/html is not an image/],
      ['/huge.png', /is larger than 5242880/],
      ['/missing.jpg', /answered 404/],
    ] as const) {
      const d = await waitForSmsStatus(db(), await notify('mms-type', [`${base}${path}`]), 'failed');
      assert.equal(d.errorCode, 'MEDIA_URL_REFUSED');
      assert.match(d.errorMessage ?? '', reason);
    }
    assert.equal(app.sms.sandbox!.messages().length, before, 'nothing reached the provider');
  });
});

describe(`MMS with Vonage the only provider (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  let host: Server;
  let dir: string;
  let base: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lcn-mms-'));
    host = await startMediaHost(dir);
    base = `https://localhost:${(host.address() as AddressInfo).port}`;
    t = await createTestDatabase();
    app = await startSmsApp(t, {
      SMS_PROVIDERS: 'vonage',
      MMS_MEDIA_HOSTS: 'localhost',
      MMS_MEDIA_CA_FILE: join(dir, 'cert.pem'),
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    });
  });
  after(async () => {
    await app.close();
    await t.close();
    await new Promise((resolve) => host.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  test('a US number gets the media as tracked links, and the delivery says no provider sends MMS', async () => {
    const db = t.database.db;
    await smsUser(db, 'mms-vonage', '+14155552674');
    const { notificationId } = await createNotification(
      {
        db,
        templates: app.templates,
        retryPolicies: retryPolicies(app.config),
        availableChannels: new Set(['in_app', 'sms'] as const),
        mediaHosts: ['localhost'],
      },
      {
        userId: 'mms-vonage',
        type: 'order_picked_up',
        context: {
          ...getNotificationType('order_picked_up')!.sampleContext,
          media_urls: [`${base}/bag.jpg`],
        },
      },
    );
    // Sent, or already delivered by a receipt: either way the message is at the sandbox.
    const d = await waitFor(async () => {
      const row = await smsDelivery(db, notificationId);
      return row.providerMessageId ? row : undefined;
    });
    const sent = app.sms.sandbox!.messages().find((m) => m.sid === d.providerMessageId)!;
    assert.equal(sent.provider, 'vonage');
    assert.match(sent.body, /\nPhotos: \S+\/l\/[A-Za-z0-9_-]{12}$/);
    assert.deepEqual((d.details as Record<string, unknown>)['mms'], {
      media: 1,
      sent_as: 'links',
      reason: 'no configured SMS provider sends MMS',
    });
  });
});
