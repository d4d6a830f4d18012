import type { UnsubscribeTokens } from '../auth/unsubscribe-tokens.ts';
import { EmailChannel } from '../channels/email/email-channel.ts';
import { type MailCapture, startMailCapture } from '../channels/email/mail-capture.ts';
import { createEmailTransport } from '../channels/email/transport.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { TemplateStore } from '../templates/template-store.ts';

export interface EmailSetup {
  channel: EmailChannel;
  /** The embedded mail catcher, when no SMTP_URL is configured (the `npm start` default). */
  capture: MailCapture | undefined;
  close(): Promise<void>;
}

/** SMTP_URL set: send through it. Unset: an in-process mail catcher keeps every email for viewing. */
export async function setupEmail(
  config: Config,
  deps: {
    templates: TemplateStore;
    logger: Logger;
    unsubscribe?: { tokens: UnsubscribeTokens; baseUrl: () => string | undefined };
  },
): Promise<EmailSetup> {
  const capture = config.SMTP_URL
    ? undefined
    : await startMailCapture({
        port: config.MAIL_CAPTURE_PORT,
        maxMessages: config.MAIL_CAPTURE_MAX_MESSAGES,
      });
  const transport = createEmailTransport(config.SMTP_URL ?? capture!.url, {
    maxConnections: config.WORKER_CONCURRENCY_EMAIL,
  });
  const channel = new EmailChannel({
    transport,
    from: config.EMAIL_FROM,
    templates: deps.templates,
    logger: deps.logger,
    ...(deps.unsubscribe && { unsubscribe: deps.unsubscribe }),
  });
  return {
    channel,
    capture,
    async close() {
      // The transport first: the catcher otherwise waits out its grace period for pooled connections.
      transport.close();
      await capture?.close();
    },
  };
}
