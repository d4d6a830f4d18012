import type { AddressInfo } from 'node:net';
import { type AddressObject, simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';

export interface CapturedMail {
  /** Increasing per capture server, so a client can ask for what is new. */
  id: number;
  receivedAt: string;
  /** SMTP envelope: who the message was really sent to, whatever the headers say. */
  envelope: { from: string | null; to: string[] };
  from: string | null;
  to: string | null;
  subject: string | null;
  date: string | null;
  messageId: string | null;
  text: string | null;
  html: string | null;
  size: number;
}

export interface MailCapture {
  /** `smtp://127.0.0.1:PORT`, ready for createEmailTransport. */
  url: string;
  /** Newest first, at most `maxMessages`. */
  messages(): CapturedMail[];
  clear(): void;
  close(): Promise<void>;
}

export interface MailCaptureOptions {
  host?: string;
  port?: number;
  maxMessages?: number;
}

/** Only what the capture shows: no text made from HTML or HTML from text, no links found. */
const PARSE_OPTIONS = {
  skipHtmlToText: true,
  skipTextToHtml: true,
  skipTextLinks: true,
  skipImageLinks: true,
};

/** `Name <address>, …` as written in the header, decoded, without mailparser's quoting. */
function addresses(field: AddressObject | AddressObject[] | undefined): string | null {
  if (!field) return null;
  return [field]
    .flat()
    .flatMap((group) => group.value)
    .map((a) => (a.name ? `${a.name} <${a.address ?? ''}>` : (a.address ?? '')))
    .join(', ');
}

/** Far above any notification email; a bigger message is refused, not held in memory. */
const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

/**
 * The email backend of `npm start` without SMTP_URL: a local mail catcher (like MailHog or Mailpit).
 * A real SMTP server that accepts every message and keeps the newest ones in memory, so the email
 * channel runs its real code path with no mail provider and operators can read what would have gone out.
 */
export async function startMailCapture(options: MailCaptureOptions = {}): Promise<MailCapture> {
  const maxMessages = options.maxMessages ?? 1000;
  let stored: CapturedMail[] = [];
  let nextId = 1;

  const server = new SMTPServer({
    banner: 'LaundryConnect mail capture',
    authOptional: true,
    // Clients configured with credentials must work too; a local catcher has nothing to protect.
    allowInsecureAuth: true,
    onAuth: (auth, _session, callback) => callback(null, { user: auth.username ?? 'capture' }),
    disabledCommands: ['STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    size: MAX_MESSAGE_BYTES,
    // Pooled clients keep idle connections open; close() should not wait 30 s for them.
    closeTimeout: 1000,
    onData(stream: SMTPServerDataStream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (stream.sizeExceeded) {
          const err = Object.assign(new Error('Message exceeds the capture size limit'), {
            responseCode: 552,
          });
          callback(err);
          return;
        }
        const raw = Buffer.concat(chunks);
        // Stored before the 250 reply, so a client that was answered finds its message listed.
        simpleParser(raw, PARSE_OPTIONS).then(
          (parsed) => {
            const mailFrom = session.envelope.mailFrom;
            stored.unshift({
              id: nextId++,
              receivedAt: new Date().toISOString(),
              envelope: {
                from: mailFrom ? mailFrom.address : null,
                to: session.envelope.rcptTo.map((r) => r.address),
              },
              from: addresses(parsed.from),
              to: addresses(parsed.to),
              subject: parsed.subject ?? null,
              date: parsed.date?.toISOString() ?? null,
              messageId: parsed.messageId ?? null,
              text: parsed.text || null,
              html: parsed.html || null,
              size: raw.length,
            });
            if (stored.length > maxMessages) stored.length = maxMessages;
            callback(null);
          },
          (err: Error) => callback(Object.assign(err, { responseCode: 554 })),
        );
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // A client that drops mid-session must not crash the process that embeds the capture.
  server.on('error', () => {});
  const address = server.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `smtp://${host}:${address.port}`,
    messages: () => [...stored],
    clear: () => {
      stored = [];
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
