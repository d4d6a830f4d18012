import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { SettingsLinks } from '../../src/auth/settings-link.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import type { DeliveryJob } from '../../src/channels/channel.ts';
import { type Queryable, queryRows } from '../../src/db/database.ts';
import { createLogger, type Logger } from '../../src/logger.ts';

/** A delivery of the catalog's order_confirmed with its sample context, as the worker would claim it. */
export function orderConfirmedJob(
  user: Partial<DeliveryJob['user']> = {},
  context?: Record<string, unknown>,
): DeliveryJob {
  return {
    deliveryId: '0195f2a4-7c1e-7d3a-9b2f-3c4d5e6f7a8b',
    notificationId: 'ntf_01HZX3Q4',
    notificationType: 'order_confirmed',
    channel: 'email',
    attempt: 1,
    maxAttempts: 5,
    title: 'Order confirmed',
    message: 'Order #LC240117 is confirmed.',
    context: context ?? getNotificationType('order_confirmed')!.sampleContext,
    user: {
      id: '1',
      externalId: 'cust_42',
      email: 'priya.sharma@example.com',
      phone: null,
      firstName: 'Priya',
      lastName: 'Sharma',
      locale: 'en',
      timeZone: 'Asia/Kolkata',
      ...user,
    },
    outcomeUnknown: false,
    createdAt: new Date(),
  };
}

/** A logger whose JSON lines the test can read back. */
export function recordingLogger(): { logger: Logger; lines: () => string[] } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger('debug', sink), lines: () => chunks.join('').split('\n').filter(Boolean) };
}

/** An error an smtp-server hook answers with, e.g. smtpReply(550, 'No such user'). */
export function smtpReply(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

/** A real SMTP server with the test's own hooks; every message body is read to the end. */
export async function startSmtpServer(
  hooks: Pick<SMTPServerOptions, 'onMailFrom' | 'onRcptTo' | 'onData'> = {},
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    closeTimeout: 200,
    onData(stream, _session, callback) {
      stream.resume();
      stream.on('end', () => callback(null));
    },
    ...hooks,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.on('error', () => {}); // a client dropped by an aborted send is expected here
  const { port } = server.server.address() as { port: number };
  return {
    url: `smtp://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Settings links that always name `url`, as with NOTIFICATION_SETTINGS_URL set. */
export function configuredSettings(url: string): SettingsLinks {
  return new SettingsLinks({
    configured: url,
    signedLink: () => Promise.reject(new Error('a configured settings page needs no signed link')),
  });
}

/** A digest's queued email delivery holding `items` (as the flusher merges them), on a fresh notification. */
export async function insertDigestDelivery(
  db: Queryable,
  userId: number,
  notificationId: string,
  items: ReadonlyArray<Record<string, string>>,
): Promise<string> {
  const [notification] = await queryRows<{ id: string }>(
    db,
    sql`insert into notifications (notification_id, user_id, type, category, priority, title, message)
        values (${notificationId}, ${userId}, 'promo_offer', 'promotions', 'digest', 'Offer', 'Offer') returning id`,
  );
  const [delivery] = await queryRows<{ id: string }>(
    db,
    sql`insert into deliveries (notification_id, channel, status, max_attempts, details)
        values (${notification!.id}, 'email', 'queued', 5, ${JSON.stringify({ digest_items: items })}::jsonb)
        returning id`,
  );
  return delivery!.id;
}
