import nodemailer, { type SMTPPoolOptions, type SMTPPoolSentMessageInfo, type Transporter } from 'nodemailer';

export type EmailTransport = Transporter<SMTPPoolSentMessageInfo, SMTPPoolOptions>;

/**
 * A pooled SMTP transport: the worker sends many emails concurrently, and reusing a few open
 * connections saves a TCP + TLS + EHLO handshake per message. The timeouts are far below
 * nodemailer's defaults (2 min to connect, 10 min idle) so a hung server fails a send quickly and the
 * delivery is retried, instead of holding a worker slot until the lease runs out.
 */
export function createEmailTransport(
  smtpUrl: string,
  options: { maxConnections?: number } = {},
): EmailTransport {
  let protocol: string;
  try {
    protocol = new URL(smtpUrl).protocol;
  } catch {
    // Never echo the URL: it may hold the SMTP password.
    throw new Error('SMTP_URL is not a valid URL (expected smtp://user:pass@host:587 or smtps://…)');
  }
  if (protocol !== 'smtp:' && protocol !== 'smtps:') {
    throw new Error(`SMTP_URL must start with smtp:// or smtps:// (got ${protocol}//)`);
  }
  const transport: EmailTransport = nodemailer.createTransport({
    url: smtpUrl,
    pool: true,
    maxConnections: options.maxConnections ?? 5,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
    dnsTimeout: 10_000,
  });
  // RFC 2046 wants text in canonical form (CRLF line breaks). nodemailer fixes line breaks of
  // quoted-printable text on the wire but base64-encodes a text part (Hindi, Tamil) as given, so
  // every text part is made canonical here, once for every message this transport sends.
  transport.use('compile', (mail, done) => {
    if (typeof mail.data.text === 'string') mail.data.text = mail.data.text.replace(/\r?\n/g, '\r\n');
    done();
  });
  return transport;
}

/** Where the transport sends (its URL's host and port, parsed by nodemailer): a span's attributes. */
export function smtpServer(transport: EmailTransport): { 'server.address'?: string; 'server.port'?: number } {
  const { host, port } =
    (transport.transporter as { options?: { host?: string; port?: number } }).options ?? {};
  return { ...(host ? { 'server.address': host } : {}), ...(port ? { 'server.port': port } : {}) };
}
