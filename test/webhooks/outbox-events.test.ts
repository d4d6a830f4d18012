import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { TestClock } from '../../src/clock.ts';
import { queryRows } from '../../src/db/database.ts';
import { handleInboundText } from '../../src/inbound/inbound-keywords.ts';
import { applyFlagChanges, optInToSms } from '../../src/preferences/preferences-service.ts';
import { optOutOfSms } from '../../src/preferences/sms-opt-out.ts';
import { updateEndpoint } from '../../src/webhooks/endpoint-store.ts';
import { createTestDatabase, ENGINE, silentLogger, type TestDatabase } from '../helpers/test-db.ts';
import { insertNotification, makeDispatcher, outbox, registerEndpoint } from './helpers.ts';
import { Receiver } from './receiver.ts';

const types = async (t: TestDatabase) => (await outbox(t.database.db)).map((r) => r.event_type);

describe(`the webhook outbox is written with the change (${ENGINE})`, () => {
  let t: TestDatabase;
  beforeEach(async () => {
    t = await createTestDatabase();
  });
  afterEach(async () => {
    await t.close();
  });

  test('no enabled endpoint: a change writes nothing to the outbox', async () => {
    await insertNotification(t.database.db);
    assert.deepEqual(await outbox(t.database.db), []);
    const { endpoint } = await registerEndpoint(t.database.db, 'http://127.0.0.1:9/hooks');
    await updateEndpoint(t.database.db, endpoint.id, { enabled: false });
    await insertNotification(t.database.db);
    assert.deepEqual(await outbox(t.database.db), []);
  });

  test('a rolled-back change emits nothing; the same change committed emits its event', async () => {
    await registerEndpoint(t.database.db, 'http://127.0.0.1:9/hooks');
    await assert.rejects(
      t.database.db.transaction(async (tx) => {
        await insertNotification(tx, 'rolled-back');
        assert.equal((await outbox(tx)).length, 1, 'inside the transaction the event is there');
        throw new Error('the change fails after its event was written');
      }),
      /the change fails/,
    );
    assert.deepEqual(await outbox(t.database.db), []);
    await t.database.db.transaction((tx) => insertNotification(tx, 'committed'));
    const [row] = await outbox(t.database.db);
    assert.equal(row!.event_type, 'notification.created');
    assert.equal(row!.payload['user_id'], 'committed');
  });

  test('one row per event and endpoint, one msg_ id per event; an endpoint gets only the types it asked for', async () => {
    const all = await registerEndpoint(t.database.db, 'http://127.0.0.1:9/all');
    const failures = await registerEndpoint(t.database.db, 'http://127.0.0.1:9/failures', [
      'delivery.failed',
    ]);
    await insertNotification(t.database.db);
    await t.database.db.execute(sql`
      insert into deliveries (notification_id, channel, status, max_attempts, next_attempt_at)
      select id, 'sms', 'queued', 3, now() from notifications`);
    await t.database.db.execute(sql`update deliveries set status = 'sending'`);
    await t.database.db.execute(
      sql`update deliveries set status = 'failed', error_code = 'NETWORK', error_message = 'to +15550100 refused', failed_at = now()`,
    );
    const rows = await outbox(t.database.db);
    assert.deepEqual(
      rows.map((r) => [Number(r.endpoint_id), r.event_type]),
      [
        [all.endpoint.id, 'notification.created'],
        [all.endpoint.id, 'delivery.failed'],
        [failures.endpoint.id, 'delivery.failed'],
      ],
      'queued and sending are no events',
    );
    assert.equal(rows[1]!.message_id, rows[2]!.message_id);
    assert.notEqual(rows[0]!.message_id, rows[1]!.message_id);
    const failed = rows[1]!.payload;
    assert.equal(failed['error_code'], 'NETWORK');
    assert.equal(failed['channel'], 'sms');
    assert.ok(
      !JSON.stringify(failed).includes('+1555'),
      'no phone number (nor provider text) in the payload',
    );
  });

  test('a failed delivery is sent with its error class', async () => {
    const receiver = await Receiver.start();
    try {
      await registerEndpoint(t.database.db, receiver.url, ['delivery.failed']);
      await insertNotification(t.database.db);
      await t.database.db.execute(sql`
        insert into deliveries (notification_id, channel, status, max_attempts, error_code, failed_at)
        select id, 'sms', 'failed', 3, 'NETWORK', now() from notifications`);
      await makeDispatcher(t.database.db, new TestClock()).runOnce();
      const body = JSON.parse((await receiver.nth(1)).body) as {
        type: string;
        data: Record<string, unknown>;
      };
      assert.equal(body.type, 'delivery.failed');
      assert.equal(body.data['error_code'], 'NETWORK');
      assert.equal(body.data['error_class'], 'unknown_outcome', 'a network error may have been sent');
      assert.equal(body.data['error_docs'], 'docs/errors.md#delivery-error-network');
    } finally {
      await receiver.close();
    }
  });

  test('STOP and START: preferences.changed and sms.opted_out, then sms.opted_in; a YES reply names its order', async () => {
    await registerEndpoint(t.database.db, 'http://127.0.0.1:9/hooks');
    await t.database.db.execute(sql`insert into users (external_id, phone) values ('texter', '+15550100')`);
    const [user] = await queryRows<{ id: string }>(
      t.database.db,
      sql`select id from users where external_id = 'texter'`,
    );
    const userId = Number(user!.id);
    await optInToSms(t.database.db, userId, 'test');
    await t.database.db.transaction((tx) =>
      applyFlagChanges(tx, userId, [{ category: 'promotions', channel: 'sms', enabled: false }], {
        source: 'api',
        actor: 'test',
      }),
    );
    await optOutOfSms(t.database.db, userId, 'stop_keyword', 'SMS keyword "STOP"');
    await optOutOfSms(t.database.db, userId, 'stop_keyword', 'a repeated STOP changes nothing');
    assert.deepEqual(
      await types(t),
      ['preferences.changed', 'sms.opted_in', 'preferences.changed', 'preferences.changed', 'sms.opted_out'],
      'one category off while others stay on is a change, not an opt-out',
    );
    const optedOut = (await outbox(t.database.db))[4]!.payload;
    assert.equal(optedOut['user_id'], 'texter');
    assert.equal(optedOut['source'], 'stop_keyword');

    await t.database.db.execute(sql`delete from webhook_outbox`);
    await t.database.db.execute(sql`
      insert into notifications (notification_id, user_id, type, category, priority, title, message, context)
      values ('ntf_ask', ${userId}, 'order_confirmed', 'order_updates', 'critical', 't', 'm',
              '{"ask_confirmation": true, "order": {"order_number": "ORD-77"}}')`);
    await t.database.db.execute(sql`
      insert into deliveries (notification_id, channel, status, max_attempts, sent_at)
      select id, 'sms', 'sent', 3, now() from notifications where notification_id = 'ntf_ask'`);
    await t.database.db.execute(sql`delete from webhook_outbox`);
    await handleInboundText(
      { db: t.database.db, helpText: 'help', logger: silentLogger },
      { provider: 'twilio', messageId: 'SM1', from: '+15550100', to: '+15550199', body: 'YES' },
    );
    const [reply] = await outbox(t.database.db);
    assert.equal(reply!.event_type, 'sms.reply');
    assert.deepEqual(
      { ...reply!.payload, received_at: undefined },
      {
        user_id: 'texter',
        body: 'YES',
        keyword: null,
        confirmed: true,
        order_number: 'ORD-77',
        in_reply_to: 'ntf_ask',
        received_at: undefined,
      },
    );
    assert.ok(
      !JSON.stringify(reply!.payload).includes('+1555'),
      'the phone stays out: the backend has the user',
    );
  });

  test('reading an inbox item is inbox.read, once', async () => {
    await registerEndpoint(t.database.db, 'http://127.0.0.1:9/hooks', ['inbox.read']);
    const id = await insertNotification(t.database.db);
    await t.database.db.execute(sql`update notifications set read_at = now() where notification_id = ${id}`);
    await t.database.db.execute(sql`update notifications set read_at = now() where notification_id = ${id}`);
    const rows = await outbox(t.database.db);
    assert.deepEqual(
      rows.map((r) => r.event_type),
      ['inbox.read'],
    );
    assert.equal(rows[0]!.payload['notification_id'], id);
  });
});
