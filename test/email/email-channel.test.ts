import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { EmailChannel } from '../../src/channels/email/email-channel.ts';
import { startMailCapture } from '../../src/channels/email/mail-capture.ts';
import { createEmailTransport } from '../../src/channels/email/transport.ts';
import { TemplateStore } from '../../src/templates/template-store.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { closedPort, orderConfirmedJob, recordingLogger, smtpReply, startSmtpServer } from './helpers.ts';

const templates = new TemplateStore();
const FROM = 'LaundryConnect <no-reply@laundryconnect.com>';
const SENT_AT = new Date('2026-01-17T10:30:00.000Z');

interface Server {
  url: string;
  close(): Promise<void>;
}

/** An EmailChannel sending to `server`; when the test ends the client closes first, then the server. */
function channelFor(t: TestContext, server: Server) {
  const transport = createEmailTransport(server.url);
  t.after(async () => {
    transport.close();
    await server.close();
  });
  const { logger, lines } = recordingLogger();
  const channel = new EmailChannel({ transport, from: FROM, templates, logger, now: () => SENT_AT });
  return { channel, logLines: lines };
}

const live = () => new AbortController().signal;

describe('EmailChannel', () => {
  test('an order confirmation reaches the SMTP server with subject, text and HTML parts', async (t) => {
    const mail = await startMailCapture();
    const { channel } = channelFor(t, mail);

    const result = await channel.send(orderConfirmedJob(), live());

    const messageId = '<delivery-0195f2a4-7c1e-7d3a-9b2f-3c4d5e6f7a8b@laundryconnect.com>';
    const [received] = mail.messages();
    assert.ok(received);
    assert.deepEqual(result, {
      kind: 'sent',
      providerMessageId: messageId,
      providerStatus: 'accepted',
      // What the user got, kept for the console's notification page (the HTML part left out).
      content: { subject: received.subject, text: received.text },
      metadata: {
        email: {
          sent: true,
          message_id: messageId,
          sent_at: '2026-01-17T10:30:00.000Z',
          to: 'priya.sharma@example.com',
        },
      },
    });
    assert.equal(received.subject, 'Order #LC240117 confirmed: pickup on Sat 18 Jan, 9-11 AM');
    assert.equal(received.from, FROM);
    assert.equal(received.to, 'priya.sharma@example.com');
    assert.deepEqual(received.envelope, {
      from: 'no-reply@laundryconnect.com',
      to: ['priya.sharma@example.com'],
    });
    assert.equal(received.messageId, messageId);
    assert.match(received.text ?? '', /^Hi Priya,/);
    assert.match(received.text ?? '', /Your order #LC240117 is confirmed\./);
    assert.match(received.html ?? '', /<p>Good news! Your order #LC240117 is confirmed\.<\/p>/);
    assert.match(received.html ?? '', /href="https:\/\/laundryconnect\.com\/orders\/LC240117"/);
  });

  test("a Hindi-speaking user's email is rendered in Devanagari", async (t) => {
    const mail = await startMailCapture();
    const { channel } = channelFor(t, mail);

    const result = await channel.send(orderConfirmedJob({ locale: 'hi-IN' }), live());

    assert.equal(result.kind, 'sent');
    const [received] = mail.messages();
    assert.equal(received?.subject, 'ऑर्डर #LC240117 कन्फ़र्म: पिकअप Sat 18 Jan, 9-11 AM को');
    assert.match(received?.text ?? '', /^नमस्ते Priya,/);
    assert.match(received?.html ?? '', /आपका ऑर्डर #LC240117 कन्फ़र्म हो गया है।/);
  });

  test('text parts are in canonical form: CRLF line breaks inside the base64 (RFC 2046)', async (t) => {
    const raws: string[] = [];
    const server = await startSmtpServer({
      onData: (stream, _session, done) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          raws.push(Buffer.concat(chunks).toString('latin1'));
          done();
        });
      },
    });
    const { channel } = channelFor(t, server);

    // Devanagari text is not 7-bit, so nodemailer base64-encodes the text part.
    assert.equal((await channel.send(orderConfirmedJob({ locale: 'hi-IN' }), live())).kind, 'sent');

    const part =
      /Content-Type: text\/plain[^\r]*\r\nContent-Transfer-Encoding: base64\r\n\r\n([A-Za-z0-9+/=\r\n]+)/.exec(
        raws[0] ?? '',
      );
    assert.ok(part, 'a base64 text/plain part');
    const text = Buffer.from(part[1]!.replace(/\r\n/g, ''), 'base64').toString('utf8');
    assert.match(text, /\r\n/);
    assert.doesNotMatch(text, /(^|[^\r])\n/, 'no bare LF');
  });

  test('context values are HTML-escaped in the HTML part only', async (t) => {
    const mail = await startMailCapture();
    const { channel } = channelFor(t, mail);

    await channel.send(orderConfirmedJob({ firstName: '<b>Priya</b> & co' }), live());

    const [received] = mail.messages();
    assert.match(received?.html ?? '', /<p>Hi &lt;b&gt;Priya&lt;\/b&gt; &amp; co,<\/p>/);
    assert.match(received?.text ?? '', /^Hi <b>Priya<\/b> & co,/);
  });

  test('a user without an email address is skipped and nothing is sent', async (t) => {
    const mail = await startMailCapture();
    const { channel } = channelFor(t, mail);

    const result = await channel.send(orderConfirmedJob({ email: null }), live());

    assert.deepEqual(result, {
      kind: 'skipped',
      reason: 'no_email',
      message: 'User has no email address. Skipping email.',
    });
    assert.deepEqual(mail.messages(), []);
  });

  test('a missing template variable fails for good, naming the variable, and sends nothing', async (t) => {
    const mail = await startMailCapture();
    const { channel } = channelFor(t, mail);

    const result = await channel.send(orderConfirmedJob({}, { order: { pickup_date: 'Sat' } }), live());

    assert.equal(result.kind, 'permanent');
    assert.equal(result.code, 'TEMPLATE_MISSING_VAR');
    assert.match(result.message, /"order\.order_number"/);
    assert.deepEqual(mail.messages(), []);
  });

  test('a 451 answer to RCPT TO is retryable', async (t) => {
    const server = await startSmtpServer({
      onRcptTo: (_address, _session, callback) => callback(smtpReply(451, 'Greylisted, try again later')),
    });
    const { channel } = channelFor(t, server);

    const result = await channel.send(orderConfirmedJob(), live());

    assert.equal(result.kind, 'retryable');
    assert.equal(result.code, 'EMAIL_DEFERRED');
    assert.match(result.message, /^451 .*Greylisted/);
    assert.deepEqual(result.metadata, {
      email: { sent: false, bounced: false, smtp_code: 451, response: result.message },
    });
  });

  test('a 550 answer to RCPT TO is a permanent bounce carrying the SMTP response', async (t) => {
    const server = await startSmtpServer({
      onRcptTo: (_address, _session, callback) => callback(smtpReply(550, 'No such user here')),
    });
    const { channel, logLines } = channelFor(t, server);

    const result = await channel.send(orderConfirmedJob(), live());

    assert.equal(result.kind, 'permanent');
    assert.equal(result.code, 'EMAIL_BOUNCED');
    assert.match(result.message, /bounce: true.*550 .*No such user here/);
    const email = (result.metadata as { email: Record<string, unknown> }).email;
    assert.equal(email.sent, false);
    assert.equal(email.bounced, true);
    assert.equal(email.smtp_code, 550);
    assert.match(String(email.response), /^550 .*No such user here/);

    const logged = logLines().join('\n');
    assert.match(logged, /"domain":"example\.com"/);
    assert.doesNotMatch(logged, /priya\.sharma/);
  });

  test('a refused connection is retryable', async (t) => {
    const { channel } = channelFor(t, {
      url: `smtp://127.0.0.1:${await closedPort()}`,
      close: async () => {},
    });

    const result = await channel.send(orderConfirmedJob(), live());

    assert.equal(result.kind, 'retryable');
    assert.equal(result.code, 'EMAIL_CONNECTION_FAILED');
    assert.match(result.message, /ECONNREFUSED/);
  });

  test('an abort while the server is silent is a retryable TIMEOUT', async (t) => {
    let stalled = 0;
    const server = await startSmtpServer({
      // Never answers the message: the send can only end by the worker's abort.
      onData: (stream) => {
        stream.resume();
        stalled++;
      },
    });
    const { channel } = channelFor(t, server);
    const controller = new AbortController();

    const sending = channel.send(orderConfirmedJob(), controller.signal);
    await waitFor(async () => stalled > 0, 5000, 'the message to reach the server');
    controller.abort(new Error('send timed out after 15000 ms'));

    assert.deepEqual(await sending, {
      kind: 'retryable',
      code: 'TIMEOUT',
      message: 'Email send aborted: send timed out after 15000 ms',
    });
  });

  test('an already aborted send does not connect at all', async (t) => {
    const mail = await startMailCapture();
    const { channel } = channelFor(t, mail);

    const result = await channel.send(
      orderConfirmedJob(),
      AbortSignal.abort(new Error('worker shutting down')),
    );

    assert.deepEqual(result, {
      kind: 'retryable',
      code: 'TIMEOUT',
      message: 'Email send aborted: worker shutting down',
    });
    assert.deepEqual(mail.messages(), []);
  });
});
