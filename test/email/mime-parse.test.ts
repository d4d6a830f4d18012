import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import MailComposer from 'nodemailer/lib/mail-composer';
import { decodeWords, parseMessage } from '../../src/channels/email/mime-parse.ts';

const compose = (options: ConstructorParameters<typeof MailComposer>[0]) =>
  new MailComposer(options).compile().build();

describe('decodeWords', () => {
  const rows: Array<[string, string, string]> = [
    ['plain ASCII is left alone', 'Order confirmed', 'Order confirmed'],
    ['base64 UTF-8', '=?UTF-8?B?4KSG4KSw4KWN4KSh4KSw?=', 'आर्डर'],
    ['Q encoding with underscores as spaces', '=?utf-8?Q?Caf=C3=A9_au_lait?=', 'Café au lait'],
    ['latin1 charset', '=?ISO-8859-1?Q?Jos=E9?=', 'José'],
    ['folding between words is dropped', '=?UTF-8?Q?Hello_?= =?UTF-8?Q?world?=', 'Hello world'],
    // "आ" is three bytes (E0 A4 86): split after the first byte across two words.
    ['a character split across two words', '=?UTF-8?B?4A==?= =?UTF-8?B?pIY=?=', 'आ'],
    ['text around a word is kept', 'Re: =?UTF-8?B?4KSG?= (2)', 'Re: आ (2)'],
    ['a language suffix is ignored', '=?UTF-8*hi?B?4KSG?=', 'आ'],
  ];
  for (const [label, input, expected] of rows) {
    test(label, () => assert.equal(decodeWords(input), expected));
  }
});

describe('parseMessage', () => {
  test('reads what nodemailer composes: encoded headers, text and HTML alternatives', async () => {
    const raw = await compose({
      from: 'LaundryConnect <no-reply@laundryconnect.com>',
      to: 'प्रिया <priya@example.com>',
      subject: 'ऑर्डर #LC240117 कन्फ़र्म',
      text: `नमस्ते प्रिया,\n${'a long line that quoted-printable has to wrap '.repeat(5)}\n= sign`,
      html: '<p>नमस्ते <b>प्रिया</b></p>',
    });

    const parsed = parseMessage(raw);

    assert.equal(parsed.headers.get('subject'), 'ऑर्डर #LC240117 कन्फ़र्म');
    assert.equal(parsed.headers.get('to'), 'प्रिया <priya@example.com>');
    assert.equal(parsed.headers.get('from'), 'LaundryConnect <no-reply@laundryconnect.com>');
    assert.equal(
      parsed.text,
      `नमस्ते प्रिया,\n${'a long line that quoted-printable has to wrap '.repeat(5)}\n= sign`,
    );
    assert.equal(parsed.html, '<p>नमस्ते <b>प्रिया</b></p>');
  });

  test('finds the bodies inside multipart/mixed and skips attachments', async () => {
    const raw = await compose({
      subject: 'Invoice',
      text: 'See the attached invoice.',
      html: '<p>See the attached invoice.</p>',
      attachments: [
        { filename: 'invoice.txt', content: 'NOT THE BODY', contentType: 'text/plain' },
        { filename: 'page.html', content: '<p>NOT THE BODY</p>', contentType: 'text/html' },
      ],
    });

    const parsed = parseMessage(raw);

    assert.match(raw.toString(), /multipart\/mixed/);
    assert.equal(parsed.text, 'See the attached invoice.');
    assert.equal(parsed.html, '<p>See the attached invoice.</p>');
  });

  test('an 8bit single-part message with folded headers', () => {
    const raw = Buffer.from(
      [
        'Subject: a subject that was',
        '\tfolded',
        'Content-Type: text/plain; charset="utf-8"',
        'Content-Transfer-Encoding: 8bit',
        '',
        'धन्यवाद',
        '',
      ].join('\r\n'),
    );

    const parsed = parseMessage(raw);

    assert.equal(parsed.headers.get('subject'), 'a subject that was\tfolded');
    assert.equal(parsed.text, 'धन्यवाद');
    assert.equal(parsed.html, null);
  });
});
