import webpush, { type VapidKeys } from 'web-push';
import type { Db } from '../../db/database.ts';
import { AppError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { buildTemplateContext } from '../../templates/render.ts';
import { failsDelivery, renderTemplate } from '../../templates/render-pool.ts';
import type { TemplateStore } from '../../templates/template-store.ts';
import type { Channel, DeliveryJob, SendResult } from '../channel.ts';
import { skipMessage } from '../delivery-errors.ts';
import { httpAnswered, providerSpan } from '../provider-span.ts';
import { classifyPushStatus, type PushOutcome, retryAfterMs } from './push-errors.ts';
import {
  hasUsableKeys,
  type PushSubscriptionRow,
  pushSubscriptionsOf,
  removeGoneSubscription,
} from './subscriptions.ts';

export interface PushChannelOptions {
  db: Db;
  vapid: VapidKeys & { subject: string };
  ttlSeconds: number;
  templates: TemplateStore;
  logger: Logger;
}

type Attempt = PushOutcome & { retryAfterMs?: number | undefined; location?: string | null };
type Failure = Extract<Attempt, { kind: 'retryable' | 'permanent' }>;
const isFailure = (a: Attempt): a is Failure => a.kind === 'retryable' || a.kind === 'permanent';

/**
 * Web Push: render push_title/push_body in the user's language, encrypt the payload for each of the
 * user's browsers (aes128gcm, RFC 8291) with a VAPID token (RFC 8292) and POST it to their push
 * services. A subscription the service calls gone (404/410) is deleted. Once any browser accepted,
 * the delivery is sent: retrying would show the others a duplicate.
 */
export class PushChannel implements Channel {
  readonly name = 'push' as const;
  readonly #o: PushChannelOptions;

  constructor(options: PushChannelOptions) {
    this.#o = options;
  }

  async send(job: DeliveryJob, signal: AbortSignal): Promise<SendResult> {
    const subs = await pushSubscriptionsOf(this.#o.db, Number(job.user.id));
    if (subs.length === 0) {
      return {
        kind: 'skipped',
        reason: 'no_push_subscription',
        message: skipMessage('no_push_subscription'),
      };
    }
    let message: PushMessage;
    try {
      message = await this.#message(job);
    } catch (err) {
      if (!failsDelivery(err)) throw err;
      return { kind: 'permanent', code: err.code, message: err.message };
    }
    const payload = JSON.stringify(message);
    const content = { title: message.title, body: message.body };
    const attempts = await Promise.all(subs.map((s) => this.#sendTo(s, payload, signal)));
    const accepted = attempts.filter((a) => a.kind === 'accepted');
    const gone = subs.filter((_, i) => attempts[i]!.kind === 'gone');
    for (const s of gone) await removeGoneSubscription(this.#o.db, s.id);
    const failures = attempts.filter(isFailure);
    const metadata = {
      push: {
        sent: accepted.length > 0,
        subscriptions: subs.length,
        accepted: accepted.length,
        removed: gone.length,
        errors: failures.map((f) => f.code),
        ...(accepted.length > 0 ? { sent_at: new Date().toISOString() } : {}),
      },
    };
    this.#o.logger.debug({ deliveryId: job.deliveryId, ...metadata.push }, 'push attempt finished');
    if (accepted.length > 0) {
      return {
        kind: 'sent',
        providerMessageId: accepted.find((a) => a.location)?.location ?? undefined,
        providerStatus: 'accepted',
        content,
        metadata,
      };
    }
    const retryable = failures.filter((f) => f.kind === 'retryable');
    if (retryable.length > 0) {
      const wait = Math.max(0, ...retryable.map((a) => a.retryAfterMs ?? 0));
      return {
        kind: 'retryable',
        code: retryable[0]!.code,
        message: `No push service accepted (${retryable.length} of ${subs.length} can be retried)`,
        ...(wait > 0 ? { retryAfterMs: wait } : {}),
        content,
        metadata,
      };
    }
    const first = failures[0];
    const goneCode = attempts.flatMap((a) => (a.kind === 'gone' ? [a.code] : []))[0];
    return {
      kind: 'permanent',
      code: first?.code ?? goneCode ?? 'PUSH_SUBSCRIPTION_GONE',
      message: first
        ? `The push service refused the message (${first.code})`
        : 'Every push subscription of the user is gone (404/410) or has unusable keys; they were removed',
      content,
      metadata,
    };
  }

  async #sendTo(sub: PushSubscriptionRow, payload: string, signal: AbortSignal): Promise<Attempt> {
    if (!hasUsableKeys(sub)) {
      // Stored before keys were checked at subscribe: encryption would throw on every retry.
      this.#o.logger.warn({ subscriptionId: sub.id }, 'push subscription keys are unusable; removing it');
      return { kind: 'gone', code: 'PUSH_SUBSCRIPTION_INVALID' };
    }
    const request = webpush.generateRequestDetails(
      { endpoint: sub.endpoint, keys: { p256dh: sub.p256dh, auth: sub.auth } },
      payload,
      { vapidDetails: this.#o.vapid, TTL: this.#o.ttlSeconds },
    );
    // fetch sets Content-Length itself; everything else (TTL, encoding, VAPID) goes as generated.
    const headers = Object.fromEntries(
      Object.entries(request.headers)
        .filter(([name]) => name.toLowerCase() !== 'content-length')
        .map(([name, value]) => [name, String(value)]),
    );
    try {
      const res = await providerSpan(
        `webpush ${request.method}`,
        { 'http.request.method': request.method, 'server.address': new URL(request.endpoint).hostname },
        (traceHeaders) =>
          fetch(request.endpoint, {
            method: request.method,
            headers: { ...headers, ...traceHeaders },
            body: request.body as Buffer<ArrayBuffer>,
            signal,
          }),
        (r, span) => httpAnswered(r.status, span),
      );
      await res.body?.cancel();
      return {
        ...classifyPushStatus(res.status),
        retryAfterMs: retryAfterMs(res.headers.get('retry-after'), Date.now()),
        location: res.headers.get('location'),
      };
    } catch (err) {
      this.#o.logger.warn({ subscriptionId: sub.id, err }, 'push service unreachable');
      return { kind: 'retryable', code: 'PUSH_NETWORK_ERROR' };
    }
  }

  /** What the service worker receives (docs/inbox.md, "Web Push"). */
  async #message(job: DeliveryJob): Promise<PushMessage> {
    const context = buildTemplateContext(job.user, job.context);
    const field = (name: 'push_title' | 'push_body') => {
      const template = this.#o.templates.get(job.notificationType, name, job.user.locale);
      if (!template)
        throw new AppError('TEMPLATE_NOT_FOUND', `No ${name} template for "${job.notificationType}"`);
      return renderTemplate(template.source, context);
    };
    const [title, body] = await Promise.all([field('push_title'), field('push_body')]);
    return {
      title,
      body,
      notification_id: job.notificationId,
      type: job.notificationType,
    };
  }
}

interface PushMessage {
  title: string;
  body: string;
  notification_id: string;
  type: string;
}
