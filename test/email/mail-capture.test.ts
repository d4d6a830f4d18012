import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import nodemailer from 'nodemailer';
import { type MailCaptureOptions, startMailCapture } from '../../src/channels/email/mail-capture.ts';
import { createEmailTransport } from '../../src/channels/email/transport.ts';

async function captureWithClient(t: TestContext, options?: MailCaptureOptions) {
  const capture = await startMailCapture(options);
  const transport = createEmailTransport(capture.url);
  t.after(async () => {
    transport.close();
    await capture.close();
  });
  return { capture, transport };
}

describe('startMailCapture', () => {
  test('listens on 127.0.0.1 on a free port by default', async (t) => {
    const { capture } = await captureWithClient(t);
    assert.match(capture.url, /^smtp:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(capture.url, 'smtp://127.0.0.1:0');
  });

  test('receives a message and lists it with headers, text and HTML', async (t) => {
    const { capture, transport } = await captureWithClient(t);

    const info = await transport.sendMail({
      from: 'LaundryConnect <no-reply@laundryconnect.com>',
      to: 'Priya <priya@example.com>',
      bcc: 'audit@laundryconnect.com',
      subject: 'ऑर्डर #LC240117 कन्फ़र्म',
      text: 'Your order #LC240117 is confirmed.',
      html: '<p>Your order <b>#LC240117</b> is confirmed.</p>',
    });

    const messages = capture.messages();
    assert.equal(messages.length, 1);
    const [mail] = messages;
    assert.ok(mail);
    assert.equal(mail.id, 1);
    assert.equal(mail.messageId, info.messageId);
    assert.equal(mail.from, 'LaundryConnect <no-reply@laundryconnect.com>');
    assert.equal(mail.to, 'Priya <priya@example.com>');
    // The envelope shows the Bcc recipient that no header names.
    assert.deepEqual(mail.envelope, {
      from: 'no-reply@laundryconnect.com',
      to: ['priya@example.com', 'audit@laundryconnect.com'],
    });
    assert.equal(mail.subject, 'ऑर्डर #LC240117 कन्फ़र्म');
    assert.ok(mail.date && !Number.isNaN(Date.parse(mail.date)));
    assert.ok(!Number.isNaN(Date.parse(mail.receivedAt)));
    assert.equal(mail.text, 'Your order #LC240117 is confirmed.');
    assert.equal(mail.html, '<p>Your order <b>#LC240117</b> is confirmed.</p>');
    assert.ok(mail.size > 0);
  });

  test('decodes a Hindi base64 body and encoded headers, and takes the bodies, not the attachments', async (t) => {
    const { capture, transport } = await captureWithClient(t);
    const text = `नमस्ते प्रिया,\n${'a long line that the encoding has to wrap '.repeat(4)}\n= sign`;

    await transport.sendMail({
      from: 'LaundryConnect <no-reply@laundryconnect.com>',
      to: 'प्रिया <priya@example.com>',
      subject: 'ऑर्डर #LC240117 कन्फ़र्म',
      text,
      html: '<p>नमस्ते <b>प्रिया</b></p>',
      attachments: [
        { filename: 'invoice.txt', content: 'NOT THE BODY', contentType: 'text/plain' },
        { filename: 'page.html', content: '<p>NOT THE BODY</p>', contentType: 'text/html' },
      ],
    });

    const [mail] = capture.messages();
    assert.equal(mail?.to, 'प्रिया <priya@example.com>');
    assert.equal(mail?.subject, 'ऑर्डर #LC240117 कन्फ़र्म');
    assert.equal(mail?.text, text);
    assert.equal(mail?.html, '<p>नमस्ते <b>प्रिया</b></p>');
  });

  test('keeps only the newest maxMessages, newest first, and clear() empties it', async (t) => {
    const { capture, transport } = await captureWithClient(t, { maxMessages: 2 });

    for (const n of [1, 2, 3]) {
      await transport.sendMail({
        from: 'a@example.com',
        to: 'b@example.com',
        subject: `message ${n}`,
        text: `${n}`,
      });
    }

    assert.deepEqual(
      capture.messages().map((m) => [m.id, m.subject]),
      [
        [3, 'message 3'],
        [2, 'message 2'],
      ],
    );
    capture.clear();
    assert.deepEqual(capture.messages(), []);
  });

  test('accepts a client that logs in, as one configured for a real provider would', async (t) => {
    const capture = await startMailCapture();
    const url = new URL(capture.url);
    const transport = nodemailer.createTransport({
      host: url.hostname,
      port: Number(url.port),
      secure: false,
      ignoreTLS: true,
      auth: { user: 'apikey', pass: 'not-checked' },
    });
    t.after(async () => {
      transport.close();
      await capture.close();
    });

    await transport.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'with auth', text: 'x' });

    assert.equal(capture.messages()[0]?.subject, 'with auth');
  });
});
