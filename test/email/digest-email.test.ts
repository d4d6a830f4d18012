import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'drizzle-orm';
import { EmailChannel } from '../../src/channels/email/email-channel.ts';
import { createEmailTransport } from '../../src/channels/email/transport.ts';
import { queryRows } from '../../src/db/database.ts';
import { DigestEmailChannel } from '../../src/digest/digest-channel.ts';
import { TemplateStore } from '../../src/templates/template-store.ts';
import { insertUser } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE } from '../helpers/test-db.ts';
import { orderConfirmedJob, recordingLogger, smtpReply, startSmtpServer } from './helpers.ts';

test(`a digest that bounces records the SMTP reply in metadata.email, like a single email (${ENGINE})`, async () => {
  const t = await createTestDatabase();
  const server = await startSmtpServer({ onRcptTo: (_a, _s, done) => done(smtpReply(550, 'No such user')) });
  const transport = createEmailTransport(server.url);
  try {
    const user = await insertUser(t.database.db, 'digest-bounce', { email: 'gone@example.com' });
    const items = [1, 2].map((i) => ({
      notification_id: `ntf_${i}`,
      type: 'promo_offer',
      title: `Offer ${i}`,
      message: `Offer ${i} text`,
      created_at: new Date().toISOString(),
    }));
    const [notification] = await queryRows<{ id: string }>(
      t.database.db,
      sql`insert into notifications (notification_id, user_id, type, category, priority, title, message)
          values ('ntf_digest', ${user.id}, 'promo_offer', 'promotions', 'digest', 'Offer', 'Offer') returning id`,
    );
    const [delivery] = await queryRows<{ id: string }>(
      t.database.db,
      sql`insert into deliveries (notification_id, channel, status, max_attempts, details)
          values (${notification!.id}, 'email', 'queued', 5, ${JSON.stringify({ digest_items: items })}::jsonb)
          returning id`,
    );
    const { logger } = recordingLogger();
    const email = new EmailChannel({
      transport,
      from: 'no-reply@laundryconnect.com',
      templates: new TemplateStore(),
      logger,
    });
    const digest = new DigestEmailChannel({ inner: email, db: t.database.db });

    const job = orderConfirmedJob({ email: 'gone@example.com' });
    const result = await digest.send(
      { ...job, deliveryId: delivery!.id, notificationType: 'promo_offer' },
      new AbortController().signal,
    );

    assert.equal(result.kind, 'permanent');
    assert.deepEqual(result.metadata, {
      email: { sent: false, bounced: true, smtp_code: 550, response: '550 No such user', digest: 2 },
    });
  } finally {
    transport.close();
    await server.close();
    await t.close();
  }
});
