import type { UnsubscribeTokens } from '../../auth/unsubscribe-tokens.ts';
import { type Category, getNotificationType } from '../../catalog/catalog.ts';
import { AppError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { buildTemplateContext } from '../../templates/render.ts';
import { failsDelivery, renderTemplate } from '../../templates/render-pool.ts';
import type { TemplateField } from '../../templates/template-files.ts';
import type { TemplateStore } from '../../templates/template-store.ts';
import { type Channel, type DeliveryJob, type SendResult, templateTypeOf } from '../channel.ts';
import { skipMessage } from '../delivery-errors.ts';
import { providerSpan } from '../provider-span.ts';
import { classifySmtpError, type SmtpErrorLike } from './smtp-errors.ts';
import { type EmailTransport, smtpServer } from './transport.ts';

export interface EmailChannelOptions {
  transport: EmailTransport;
  /** The From header, e.g. 'LaundryConnect <no-reply@laundryconnect.com>'. */
  from: string;
  templates: TemplateStore;
  logger: Logger;
  now?: () => Date;
  /**
   * One-click unsubscribe (RFC 8058) for non-critical emails; `baseUrl` is PUBLIC_URL (or the
   * listen address once known). Without it, or without a base URL, no List-Unsubscribe is sent.
   */
  unsubscribe?: { tokens: UnsubscribeTokens; baseUrl: () => string | undefined };
}

export interface SendTemplateOptions {
  /** Joins `metadata.email` (the digest adds its item count). */
  metadata?: Record<string, unknown>;
  /** The notification types the email carries (a digest's items); default the job's own type. */
  types?: readonly string[];
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
    return this.sendTemplate(job, templateTypeOf(job), job.context, signal);
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
    opts: SendTemplateOptions = {},
  ): Promise<SendResult> {
    const extra = opts.metadata ?? {};
    const to = job.user.email;
    if (!to) {
      return { kind: 'skipped', reason: 'no_email', message: skipMessage('no_email') };
    }
    let email: RenderedEmail;
    try {
      email = await this.#render(template, job.user, context);
    } catch (err) {
      if (!failsDelivery(err)) throw err;
      return {
        kind: 'permanent',
        code: err.code,
        message: err.message,
        metadata: { email: { sent: false, error_code: err.code, ...extra } },
      };
    }
    const unsubscribeUrl = this.#unsubscribeUrl(job, opts.types ?? [job.notificationType]);
    return this.#deliver(job, to, { ...email, unsubscribeUrl }, signal, extra);
  }

  /**
   * The one-click link that turns off email for the categories `types` belong to; none when one of
   * them is critical (security and transactional messages must reach the user) or unknown.
   */
  #unsubscribeUrl(job: DeliveryJob, types: readonly string[]): string | undefined {
    const baseUrl = this.#o.unsubscribe?.baseUrl();
    if (!this.#o.unsubscribe || !baseUrl) return undefined;
    const categories = new Set<Category>();
    for (const type of types) {
      const def = getNotificationType(type);
      if (!def || def.priority === 'critical') return undefined;
      categories.add(def.category);
    }
    if (categories.size === 0) return undefined;
    return this.#o.unsubscribe.tokens.link(baseUrl, {
      userId: Number(job.user.id),
      categories: [...categories],
    });
  }

  /**
   * Hand a rendered email to the SMTP server and turn its answer into a result: the one way an
   * email leaves this service, so every email's metadata, logs and failure classes are the same.
   * `extra` joins `metadata.email`.
   */
  async #deliver(
    job: DeliveryJob,
    to: string,
    email: RenderedEmail & { unsubscribeUrl: string | undefined },
    signal: AbortSignal,
    extra: Record<string, unknown>,
  ): Promise<SendResult> {
    if (signal.aborted) return aborted(signal);

    const log = { deliveryId: job.deliveryId, domain: domainOf(to) ?? '(no domain)' };
    // The HTML part is left out: it is the text part's twin from the same context, several times larger.
    const content = { subject: email.subject, text: email.text };
    try {
      const info = await providerSpan('smtp send', smtpServer(this.#o.transport), () =>
        this.#o.transport.sendMail({
          from: this.#o.from,
          to,
          subject: email.subject,
          text: email.text,
          html: email.html,
          // One Message-ID per delivery, kept across retries: a resend after an unknown outcome (a
          // timeout after DATA, a crashed worker) is the same message, and mail systems dedupe on it.
          messageId: `<delivery-${job.deliveryId}@${this.#fromDomain}>`,
          // RFC 8058: the mail client POSTs `List-Unsubscribe=One-Click` to the URL, no GET, no cookies.
          ...(email.unsubscribeUrl && {
            list: { unsubscribe: email.unsubscribeUrl },
            headers: { 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
          }),
          signal,
        }),
      );
      this.#o.logger.debug({ ...log, attempt: job.attempt }, 'email accepted by the SMTP server');
      return {
        kind: 'sent',
        providerMessageId: info.messageId,
        providerStatus: 'accepted',
        content,
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
        return { kind: 'retryable', code: failure.code, message: detail, content, metadata };
      }
      return {
        kind: 'permanent',
        code: failure.code,
        message: failure.bounce ? `Mailbox unavailable (bounce: true). SMTP response: ${detail}` : detail,
        content,
        metadata,
      };
    }
  }

  /**
   * Renders a notification type's email, or a frame's (the digest), in the user's language: one
   * place for the user variables, HTML escaping and the one-line subject.
   */
  async #render(
    type: string,
    user: DeliveryJob['user'],
    context: Record<string, unknown>,
  ): Promise<RenderedEmail> {
    const full = buildTemplateContext(user, context);
    const field = (name: TemplateField, escapeHtml = false) => {
      const template = this.#o.templates.get(type, name, user.locale);
      if (!template) {
        throw new AppError('TEMPLATE_NOT_FOUND', `No ${name} template for "${type}"`);
      }
      return renderTemplate(template.source, full, { escapeHtml });
    };
    const [subject, text, html] = await Promise.all([
      field('email_subject'),
      field('email_text'),
      field('email_html', true),
    ]);
    // A subject is one header line: a newline in a context value must not start another header.
    return { subject: subject.replace(/\s+/g, ' ').trim(), text, html };
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
