import type { Clock } from '../../clock.ts';
import { AppError } from '../../errors.ts';
import type { LinkStore } from '../../links/link-store.ts';
import type { Logger } from '../../logger.ts';
import { failsDelivery } from '../../templates/render-pool.ts';
import type { TemplateStore, VariantRef } from '../../templates/template-store.ts';
import { type Channel, type DeliveryJob, type SendResult, templateTypeOf } from '../channel.ts';
import { skipMessage } from '../delivery-errors.ts';
import type { PriceTable } from './cost.ts';
import { type MediaCheck, mediaUrlsOf, receivesMms } from './media.ts';
import { maskPhone, validatePhone } from './phone.ts';
import { classifyOutcome, type DeliveryOutcome } from './routing/provider-answer.ts';
import type { ProviderName } from './routing/routing-config.ts';
import type { Choice, SmsRouter } from './routing/sms-router.ts';
import { composeSms } from './sms-composer.ts';
import { type FoundSms, ReconcilePending, type SmsProvider, type SmsProviderResult } from './sms-provider.ts';

export interface SmsChannelOptions {
  /** Every provider that may send (the router chooses among them). */
  providers: ReadonlyMap<ProviderName, SmsProvider>;
  router: SmsRouter;
  templates: TemplateStore;
  prices: PriceTable;
  logger: Logger;
  clock: Clock;
  /** A provider said the recipient opted out (Twilio's 21610): turn their SMS off everywhere. */
  onOptedOut: (userId: number, reason: string) => Promise<void>;
  dlt: { entityId: string | undefined; senderId: string | undefined };
  /**
   * Where the tracked links of a text are stored before it is sent. Undefined only in the CLI, whose
   * channel sends no deliveries: a text with tracked links then fails rather than go out without rows.
   */
  links: LinkStore | undefined;
  /** MMS_MEDIA_HOSTS and the check before sending (setup/media-check.ts). */
  media: { hosts: readonly string[]; check: MediaCheck };
}

/** One provider request of an attempt, as `details.route.tried` records it. */
interface Tried {
  provider: ProviderName;
  outcome: DeliveryOutcome;
  code: string | null;
}

/**
 * SMS deliveries: check the number, compose the text, let the router choose the provider, send, and
 * classify the answer. The state after "sent" arrives later by the provider's status reports.
 * Never twice (the router's contract, sms-router.ts): one provider request at a time per delivery;
 * a clear refusal fails over at once to the next provider; an answer that may hide a send (no
 * answer, 5xx) ends the attempt, and the next one first asks THAT provider whether it sent
 * (`lookup` does only that, once the budget ended in doubt); a refusal of the number itself is not
 * failed over. Every attempt stores its route (`details.route`: provider, why, what was tried).
 */
export class SmsChannel implements Channel {
  readonly name = 'sms' as const;
  readonly #o: SmsChannelOptions;

  constructor(options: SmsChannelOptions) {
    this.#o = options;
  }

  async send(job: DeliveryJob): Promise<SendResult> {
    const prepared = await this.#prepare(job);
    if ('kind' in prepared) return prepared;
    const avoid: ProviderName[] = [];
    if (job.outcomeUnknown) {
      const reconciled = await this.#reconcile(job, prepared);
      if (reconciled.found) return reconciled.found;
      // It did not send there: prefer another provider, but that one if it is the only one left.
      avoid.push(...reconciled.asked);
    }
    const { phone, sms } = prepared;
    await this.#storeLinks(job, sms);
    const content = { body: sms.body };
    const tried: Tried[] = [];
    const refused: ProviderName[] = [];
    let last: Failed | undefined;
    for (;;) {
      const choice = this.#choose(phone, sms.segments, [...refused, ...prepared.mms.exclude], avoid);
      if (!choice.ok) {
        if (last) return this.#failure(job, prepared, last, 'known-refusal');
        return {
          kind: 'retryable',
          code: 'NO_SMS_PROVIDER',
          message: choice.reason,
          ...(choice.retryAfterMs === null ? {} : { retryAfterMs: choice.retryAfterMs }),
          details: { route: { provider: null, route: choice.route, reason: choice.reason, tried } },
          content,
        };
      }
      const requestedAt = new Date(this.#o.clock.now());
      const result = await this.#provider(choice.provider).send({
        to: phone,
        body: sms.body,
        notificationId: job.notificationId,
        reference: job.deliveryId,
        dlt: { entityId: this.#o.dlt.entityId ?? null, contentId: sms.dltTemplateId ?? null },
        mediaUrls: prepared.mms.urls,
      });
      this.#o.router.recordRequest(choice.provider, result.answer);
      const outcome = classifyOutcome(result.answer);
      tried.push({ provider: choice.provider, outcome, code: result.success ? null : result.code });
      const route = routeDetails(choice, requestedAt, tried);
      if (result.success) {
        return {
          kind: 'sent',
          providerMessageId: result.messageId,
          providerStatus: result.status,
          costAmount: choice.cost.amount,
          costCurrency: choice.cost.currency,
          // The charge, as the stats' "reported" figures read it (Twilio's arrives later by callback).
          details: { ...prepared.details, route, ...(result.price ? { price: result.price } : {}) },
          content,
          detail: `${routeLine(route)}${sms.variant ? `; A/B variant ${sms.variant.label}` : ''}${mediaLine(prepared.details['mms'])}`,
          metadata: {
            sms: {
              ...sentMetadata(result.messageId, result.status, result.to, choice.provider),
              ...result.metadata,
            },
          },
        };
      }
      this.#o.logger.warn(
        {
          deliveryId: job.deliveryId,
          to: maskPhone(phone),
          provider: choice.provider,
          code: result.code,
          outcome,
        },
        'SMS send failed',
      );
      const failed = { provider: choice.provider, result, route };
      if (outcome !== 'known-refusal') return this.#failure(job, prepared, failed, outcome);
      refused.push(choice.provider);
      last = failed;
    }
  }

  /** Lookup-only attempt (see Channel.lookup): the earlier attempt's message, or null. */
  async lookup(job: DeliveryJob): Promise<SendResult | null> {
    const prepared = await this.#prepare(job);
    if ('kind' in prepared) return prepared;
    return (await this.#reconcile(job, prepared)).found;
  }

  /** The number checked and the text composed, or why this delivery cannot be sent. */
  async #prepare(job: DeliveryJob): Promise<SendResult | Prepared> {
    const phone = job.user.phone;
    if (!phone) {
      const message = skipMessage('no_phone', { email: job.user.email ?? job.user.externalId });
      return { kind: 'skipped', reason: 'no_phone', message };
    }
    if (!validatePhone(phone).ok)
      return { kind: 'skipped', reason: 'invalid_phone', message: skipMessage('invalid_phone') };
    const media = await this.#media(job, phone);
    if ('kind' in media) return media;
    let sms: Sms;
    try {
      sms = await composeSms(this.#o.templates, this.#o.prices, {
        type: templateTypeOf(job),
        to: phone,
        user: job.user,
        context: job.context,
        reuse: await this.#o.links?.reuse(job.deliveryId),
        mediaAsLinks: media.asLinks,
      });
    } catch (err) {
      if (!failsDelivery(err)) throw err;
      return { kind: 'permanent', code: err.code, message: err.message };
    }
    const details = {
      encoding: sms.encoding,
      characters: sms.characters,
      segments: sms.segments,
      dlt_template_id: sms.dltTemplateId ?? null,
      dlt_entity_id: this.#o.dlt.entityId ?? null,
      dlt_sender_id: this.#o.dlt.senderId ?? null,
      outcome_unknown: false,
      // The A/B variant, which migration 0032's trigger copies to deliveries.template_variant_id.
      ...variantDetails(sms),
      ...(media.details ? { mms: media.details } : {}),
    };
    return { phone, sms, details, mms: media };
  }

  /**
   * The delivery's media (its context's `media_urls`), checked again (the allow-list may have
   * changed since creation) and each one fetched by HEAD: an image of a size we know, or the
   * delivery fails before anything is charged. Sent as an MMS where the number's country receives
   * MMS and a provider that sends media is configured (the others are then not chosen), else as
   * tracked links in the text; `details.mms` says which and why.
   */
  async #media(job: DeliveryJob, phone: string): Promise<SendResult | Mms> {
    let urls: string[];
    try {
      urls = mediaUrlsOf(job.context, this.#o.media.hosts);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      return { kind: 'permanent', code: err.code, message: err.message };
    }
    if (urls.length === 0) return { urls: [], asLinks: [], exclude: [], details: undefined };
    for (const url of urls) {
      const checked = await this.#o.media.check(url);
      if (checked.ok) continue;
      const message = `Media URL refused: ${url}: ${checked.reason}`;
      return checked.retryable
        ? { kind: 'retryable', code: 'NETWORK', message }
        : { kind: 'permanent', code: 'MEDIA_URL_REFUSED', message };
    }
    const senders = [...this.#o.providers.values()];
    const reason = !receivesMms(phone)
      ? "the number's country does not receive MMS (only the US and Canada do)"
      : senders.some((p) => p.sendsMedia)
        ? null
        : 'no configured SMS provider sends MMS';
    if (reason) {
      return {
        urls: [],
        asLinks: urls,
        exclude: [],
        details: { media: urls.length, sent_as: 'links', reason },
      };
    }
    return {
      urls,
      asLinks: [],
      exclude: senders.filter((p) => !p.sendsMedia).map((p) => p.name),
      details: { media: urls.length, sent_as: 'mms', reason: null },
    };
  }

  /** Before the provider request: a sent text never carries a link without its row (link-store.ts). */
  async #storeLinks(job: DeliveryJob, sms: Sms): Promise<void> {
    if (sms.links.length === 0) return;
    if (!this.#o.links) throw new Error('this SMS channel cannot store tracked links (it has no database)');
    await this.#o.links.store(job.deliveryId, sms.links);
  }

  /** A provider to send through: never a refused one, one just reconciled only when it is the last. */
  #choose(phone: string, segments: number, refused: ProviderName[], avoid: ProviderName[]): Choice {
    const choice = this.#o.router.choose(phone, segments, [...refused, ...avoid]);
    return choice.ok || avoid.length === 0 ? choice : this.#o.router.choose(phone, segments, refused);
  }

  #provider(name: ProviderName): SmsProvider {
    const provider = this.#o.providers.get(name);
    if (!provider) throw new Error(`the SMS router chose ${name}, which this channel was not given`);
    return provider;
  }

  /** An attempt's end without a send: retried (in doubt or not), failed, or the user opted out. */
  async #failure(
    job: DeliveryJob,
    prepared: Prepared,
    { provider, result, route }: Failed,
    outcome: DeliveryOutcome,
  ): Promise<SendResult> {
    const details = { route, ...variantDetails(prepared.sms) };
    const content = { body: prepared.sms.body };
    const metadata = {
      sms: {
        sent: false,
        error: result.error,
        error_code: result.providerCode,
        to: prepared.phone,
        provider,
      },
    };
    if (outcome === 'unknown') {
      return {
        kind: 'retryable',
        code: result.code,
        message: result.error,
        outcomeUnknown: true,
        details,
        content,
        metadata,
      };
    }
    if (result.classification === 'retryable') {
      return {
        kind: 'retryable',
        code: result.code,
        message: result.error,
        outcomeUnknown: false,
        details,
        content,
        metadata,
      };
    }
    if (result.classification === 'opted_out') {
      await this.#o.onOptedOut(
        Number(job.user.id),
        `${provider} error ${result.providerCode} for delivery ${job.deliveryId}`,
      );
    }
    return { kind: 'permanent', code: result.code, message: result.error, details, content, metadata };
  }

  /**
   * An earlier attempt may have reached a provider (its worker died mid-send, or it got no answer):
   * ask the provider it asked (every provider, when a dead worker could not say which) whether that
   * SMS went out, and adopt it rather than send twice. A provider that cannot tell throws: the
   * attempt ends unknown again, and nothing is sent on a guess.
   */
  async #reconcile(
    job: DeliveryJob,
    { phone, sms, details }: Prepared,
  ): Promise<{ found: SendResult | null; asked: ProviderName[] }> {
    const last = job.lastRoute?.provider;
    const asked = last && this.#o.providers.has(last) ? [last] : [...this.#o.providers.keys()];
    const requestedAt = job.lastRoute?.requested_at ? new Date(job.lastRoute.requested_at) : null;
    for (const name of asked) {
      let found: FoundSms | null;
      try {
        found = await this.#provider(name).findSent({
          to: phone,
          body: sms.body,
          since: new Date(job.createdAt.getTime() - 1000),
          reference: job.deliveryId,
          requestedAt,
        });
      } catch (err) {
        if (!(err instanceof ReconcilePending)) throw err;
        // Asked again when it can tell, not at the retry pace: each attempt in doubt spends budget.
        return {
          asked,
          found: {
            kind: 'retryable',
            code: 'LOOKUP_FAILED',
            message: err.message,
            outcomeUnknown: true,
            retryAfterMs: err.retryAfterMs,
            details: { route: { ...job.lastRoute } },
            content: { body: sms.body },
          },
        };
      }
      this.#o.logger.info(
        { deliveryId: job.deliveryId, provider: name, adopted: found?.messageId ?? null },
        found
          ? 'reconciled: the earlier attempt had reached the provider'
          : 'reconciled: no earlier message at the provider',
      );
      if (found) {
        return {
          asked,
          found: {
            kind: 'sent',
            providerMessageId: found.messageId,
            providerStatus: found.status,
            delivered: found.status === 'delivered',
            costAmount: sms.cost.amount,
            costCurrency: sms.cost.currency,
            details: { ...details, reconciled: true, route: { ...job.lastRoute, provider: name } },
            content: { body: sms.body },
            metadata: { sms: sentMetadata(found.messageId, found.status, phone, name) },
          },
        };
      }
    }
    return { found: null, asked };
  }
}

type Sms = Awaited<ReturnType<typeof composeSms>>;

/** `details.variant`, on every outcome of a text from a running A/B test (its figures count failures too). */
function variantDetails(sms: Sms): { variant?: VariantRef } {
  return sms.variant ? { variant: sms.variant } : {};
}
/** A provider request that did not send, with the attempt's route up to it. */
interface Failed {
  provider: ProviderName;
  result: Extract<SmsProviderResult, { success: false }>;
  route: ReturnType<typeof routeDetails>;
}
interface Prepared {
  phone: string;
  sms: Sms;
  details: Record<string, unknown>;
  mms: Mms;
}
/** How the delivery's media goes: `urls` as an MMS (only through `exclude`'s complement), or `asLinks`. */
interface Mms {
  urls: string[];
  asLinks: string[];
  exclude: ProviderName[];
  details: { media: number; sent_as: 'mms' | 'links'; reason: string | null } | undefined;
}

/** The media in the history's words: `; MMS with 2 images` or `; 2 images as tracked links (…)`. */
function mediaLine(mms: unknown): string {
  const m = mms as Mms['details'];
  if (!m) return '';
  return m.sent_as === 'mms'
    ? `; MMS with ${m.media} images`
    : `; ${m.media} images as tracked links (${m.reason})`;
}

/** `details.route`: which provider this attempt asked last, why, and every request it made. */
function routeDetails(choice: Extract<Choice, { ok: true }>, requestedAt: Date, tried: Tried[]) {
  return {
    provider: choice.provider,
    route: choice.route,
    strategy: choice.strategy,
    reason: choice.reason,
    requested_at: requestedAt.toISOString(),
    tried: [...tried],
  };
}

/** The route in the history's words: `via vonage (priority for IN: vonage); twilio: known-refusal (20429)`. */
function routeLine(route: ReturnType<typeof routeDetails>): string {
  const failed = route.tried.filter((x) => x.outcome !== 'ok');
  const before = failed.map((x) => `; ${x.provider}: ${x.outcome}${x.code ? ` (${x.code})` : ''}`).join('');
  return `via ${route.provider} (${route.reason})${before}`;
}

/** The seed's `notification.metadata.sms` shape, plus the provider that sent it. */
function sentMetadata(sid: string, status: string, to: string, provider: ProviderName) {
  return { sent: true, message_sid: sid, sent_at: new Date().toISOString(), status, to, provider };
}
