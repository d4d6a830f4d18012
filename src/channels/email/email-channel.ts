import { AppError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { buildTemplateContext, renderTemplate } from '../../templates/render.ts';
import type { TemplateField } from '../../templates/template-files.ts';
import type { TemplateStore } from '../../templates/template-store.ts';
import type { Channel, DeliveryJob, SendResult } from '../channel.ts';
import { classifySmtpError, type SmtpErrorLike } from './smtp-errors.ts';
import type { EmailTransport } from './transport.ts';

export interface EmailChannelOptions {
  transport: EmailTransport;
  /** The From header, e.g. 'LaundryConnect <no-reply@laundryconnect.com>'. */
  from: string;
  templates: TemplateStore;
  logger: Logger;
  now?: () => Date;
}

interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/**
 * Email over SMTP: render subject, text and HTML in the user's language, hand the message to the
 * pooled transport, and turn the server's answer into one typed result. Logs name the recipient's
 * domain only: addresses are personal data, logs are shipped and kept.
 */
export class EmailChannel implements Channel {
  readonly name = 'email' as const;
  readonly #o: EmailChannelOptions;
  readonly #fromDomain: string;

  constructor(options: EmailChannelOptions) {
    this.#o = options;
    this.#fromDomain = domainOf(options.from.replace(/>\s*$/, '')) ?? 'localhost';
  }

  async send(job: DeliveryJob, signal: AbortSignal): Promise<SendResult> {
    return this.sendTemplate(job, job.notificationType, job.context, signal);
  }

  /**
   * Render `template` (a notification type, or a frame such as the digest) with `context` in the
   * user's language and deliver it; a template that cannot render fails the delivery for good.
   */
  async sendTemplate(
    job: DeliveryJob,
    template: string,
    context: Record<string, unknown>,
    signal: AbortSignal,
    extra: Record<string, unknown> = {},
  ): Promise<SendResult> {
    const to = job.user.email;
    if (!to) {
      return { kind: 'skipped', reason: 'no_email', message: 'User has no email address. Skipping email.' };
    }
    let email: RenderedEmail;
    try {
      email = this.#render(template, job.user, context);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      return {
        kind: 'permanent',
        code: err.code,
        message: err.message,
        metadata: { email: { sent: false, error_code: err.code, ...extra } },
      };
    }
    return this.#deliver(job, to, email, signal, extra);
  }

  /**
   * Hand a rendered email to the SMTP server and turn its answer into a result: the one way an
   * email leaves this service, so every email's metadata, logs and failure classes are the same.
   * `extra` joins `metadata.email`.
   */
  async #deliver(
    job: DeliveryJob,
    to: string,
    email: RenderedEmail,
    signal: AbortSignal,
    extra: Record<string, unknown>,
  ): Promise<SendResult> {
    if (signal.aborted) return aborted(signal);

    const log = { deliveryId: job.deliveryId, domain: domainOf(to) ?? '(no domain)' };
    try {
      const info = await this.#o.transport.sendMail({
        from: this.#o.from,
        to,
        subject: email.subject,
        text: email.text,
        html: email.html,
        // One Message-ID per delivery, kept across retries: a resend after an unknown outcome (a
        // timeout after DATA, a crashed worker) is the same message, and mail systems dedupe on it.
        messageId: `<delivery-${job.deliveryId}@${this.#fromDomain}>`,
        signal,
      });
      this.#o.logger.debug({ ...log, attempt: job.attempt }, 'email accepted by the SMTP server');
      return {
        kind: 'sent',
        providerMessageId: info.messageId,
        providerStatus: 'accepted',
        metadata: {
          email: {
            sent: true,
            message_id: info.messageId,
            sent_at: (this.#o.now?.() ?? new Date()).toISOString(),
            to,
            ...extra,
          },
        },
      };
    } catch (err) {
      if (signal.aborted || (err as SmtpErrorLike).code === 'EABORT') return aborted(signal);
      const failure = classifySmtpError(err as SmtpErrorLike);
      this.#o.logger.warn(
        { ...log, attempt: job.attempt, code: failure.code, smtpCode: failure.smtpCode },
        'email send failed',
      );
      const metadata = {
        email: {
          sent: false,
          bounced: failure.bounce,
          smtp_code: failure.smtpCode,
          response: failure.response,
          ...extra,
        },
      };
      const detail = failure.response ?? (err as Error).message;
      if (failure.kind === 'retryable') {
        return { kind: 'retryable', code: failure.code, message: detail, metadata };
      }
      return {
        kind: 'permanent',
        code: failure.code,
        message: failure.bounce ? `Mailbox unavailable (bounce: true). SMTP response: ${detail}` : detail,
        metadata,
      };
    }
  }

  /**
   * Renders a notification type's email, or a frame's (the digest), in the user's language: one
   * place for the user variables, HTML escaping and the one-line subject.
   */
  #render(type: string, user: DeliveryJob['user'], context: Record<string, unknown>): RenderedEmail {
    const full = buildTemplateContext(user, context);
    const field = (name: TemplateField, escapeHtml = false) => {
      const template = this.#o.templates.get(type, name, user.locale);
      if (!template) {
        throw new AppError('TEMPLATE_NOT_FOUND', `No ${name} template for "${type}"`);
      }
      return renderTemplate(template.source, full, { escapeHtml });
    };
    return {
      // A subject is one header line: a newline in a context value must not start another header.
      subject: field('email_subject').replace(/\s+/g, ' ').trim(),
      text: field('email_text'),
      html: field('email_html', true),
    };
  }
}

function aborted(signal: AbortSignal): SendResult {
  const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'aborted');
  return { kind: 'retryable', code: 'TIMEOUT', message: `Email send aborted: ${reason}` };
}

function domainOf(address: string): string | undefined {
  const at = address.lastIndexOf('@');
  return at === -1 ? undefined : address.slice(at + 1).toLowerCase();
}
