import { createHash, randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { ChannelName } from '../channels/channel.ts';
import type { Db, Queryable } from '../db/database.ts';
import { idempotencyKeys } from '../db/schema.ts';
import {
  type IdempotencyClaim,
  insertNotification,
  type NewDelivery,
  type NewNotification,
} from '../deliveries/enqueue.ts';
import type { RetryPolicy } from '../deliveries/retry-policy.ts';
import { AppError } from '../errors.ts';
import { type DeliveryPolicyConfig, loadDeliveryPolicy } from '../preferences/delivery-policy.ts';
import { buildTemplateContext, renderTemplate } from '../templates/render.ts';
import type { TemplateStore } from '../templates/template-store.ts';
import { requireNotificationType } from './catalog.ts';
import { decideChannels } from './eligibility.ts';
import { type NotificationView, toNotificationView } from './notification-view.ts';
import { channelWidePreferences, isChannelEnabled } from './preferences.ts';
import { loadRecipient } from './recipient.ts';

export interface CreateNotificationDeps {
  db: Db;
  templates: TemplateStore;
  retryPolicies: Record<ChannelName, RetryPolicy>;
  /** Channels with a running adapter; the others are recorded as skipped. */
  availableChannels: ReadonlySet<ChannelName>;
  now?: () => Date;
  /** Quiet hours, digest holding and SMS caps; without it every delivery is due at once. */
  policy?: DeliveryPolicyConfig;
}

export interface CreateNotificationInput {
  /** The marketplace's id for the user (users.external_id). */
  userId: string;
  type: string;
  context: Record<string, unknown>;
  /** Overrides for the rendered in-app title and message. */
  title?: string | undefined;
  message?: string | undefined;
  idempotencyKey?: string | undefined;
  /** Keys are unique per caller (API key) so two callers cannot collide. */
  idempotencyScope?: string;
}

export interface CreateNotificationResult {
  created: boolean;
  notificationId: string;
  /** The stored notification as the API shows it; absent on an idempotent replay (read it again). */
  view?: NotificationView;
}

/**
 * What a notification will be, decided but not yet stored: a replayed key's first notification, or
 * the rows to write. The single create and the batch (create-notification-batch.ts) both decide
 * through `prepareNotification` and store through `storeNotification`, so they cannot differ.
 */
export type PreparedNotification =
  | { kind: 'replay'; notificationId: string }
  | {
      kind: 'new';
      notification: NewNotification;
      deliveries: NewDelivery[];
      idempotency: IdempotencyClaim | undefined;
      externalUserId: string;
    };

/**
 * The one way a notification comes to exist. A replayed Idempotency-Key returns the first
 * notification at once; otherwise: read the recipient, render, decide each channel (queued, or
 * skipped with the reason), then ONE atomic call stores the key, the notification, its deliveries
 * and their history and NOTIFYs the workers (delivered by Postgres only when it commits). Two
 * round trips and no open transaction on the hot path. Two requests racing with one key: the
 * second waits on the first's key row and gets its notification.
 */
export async function createNotification(
  deps: CreateNotificationDeps,
  input: CreateNotificationInput,
): Promise<CreateNotificationResult> {
  return storeNotification(deps.db, await prepareNotification(deps, input));
}

/** Everything before the write: the replay check, the recipient, the rendering, each channel's decision. */
export async function prepareNotification(
  deps: CreateNotificationDeps,
  input: CreateNotificationInput,
): Promise<PreparedNotification> {
  const def = requireNotificationType(input.type);
  const idempotency = input.idempotencyKey
    ? {
        scope: input.idempotencyScope ?? 'default',
        key: input.idempotencyKey,
        requestHash: hashRequest(input),
      }
    : undefined;
  if (idempotency) {
    const replay = await findReplay(deps.db, idempotency);
    if (replay) return { kind: 'replay', notificationId: replay };
  }
  const recipient = await loadRecipient(deps.db, input.userId, deps.policy?.defaultQuietHours ?? null);
  if (!recipient) throw new AppError('USER_NOT_FOUND', `No user with id "${input.userId}"`);
  const { user } = recipient;
  const prefs =
    def.gatedBy === 'channel'
      ? channelWidePreferences(recipient.prefs, def.category, def.channels)
      : recipient.prefs;

  const templateContext = buildTemplateContext(user, input.context);
  const render = (field: 'in_app_title' | 'in_app_body', override: string | undefined) => {
    if (override) return override;
    const template = deps.templates.get(def.name, field, user.locale);
    if (!template) throw new AppError('TEMPLATE_NOT_FOUND', `No ${field} template for ${def.name}`);
    return renderTemplate(template.source, templateContext);
  };
  const title = render('in_app_title', input.title);
  const message = render('in_app_body', input.message);

  const now = deps.now?.() ?? new Date();
  const policy = await loadDeliveryPolicy(deps.db, deps.policy, {
    userId: user.id,
    timeZone: user.timeZone,
    quietHours: recipient.quietHours,
    priority: def.priority,
    // The cap query only runs when an SMS would otherwise go out.
    wantsSms: def.channels.includes('sms') && !!user.phone && isChannelEnabled(prefs, def.category, 'sms'),
    now,
  });
  const decisions = decideChannels({
    channels: def.channels,
    category: def.category,
    user,
    prefs,
    available: deps.availableChannels,
    smsCapReached: policy.smsCapReached,
    hasPushSubscription: recipient.hasPushSubscription,
  });

  return {
    kind: 'new',
    notification: {
      notificationId: `ntf_${randomBytes(12).toString('base64url')}`,
      userId: user.id,
      type: def.name,
      category: def.category,
      priority: def.priority,
      title,
      message,
      context: input.context,
    },
    deliveries: decisions.map((d) => ({
      channel: d.channel,
      status: d.status,
      maxAttempts: deps.retryPolicies[d.channel].maxAttempts,
      nextAttemptAt: d.status === 'queued' ? policy.firstAttemptAt(d.channel) : null,
      skipReason: d.status === 'skipped' ? d.reason : null,
      errorMessage: d.status === 'skipped' ? d.message : null,
    })),
    idempotency,
    externalUserId: user.externalId,
  };
}

/**
 * The write: one atomic call (or, in a batch, one call inside the batch's transaction). A key
 * taken meanwhile by a request that committed first is that request's notification, or a conflict.
 */
export async function storeNotification(
  q: Queryable,
  prepared: PreparedNotification,
): Promise<CreateNotificationResult> {
  if (prepared.kind === 'replay') return { created: false, notificationId: prepared.notificationId };
  const { notification, idempotency } = prepared;
  const stored = await insertNotification(q, notification, prepared.deliveries, idempotency);
  if (stored.kind === 'existing') {
    return { created: false, notificationId: checkReplay(idempotency!, stored) };
  }
  const view = toNotificationView(
    stored.notification,
    prepared.externalUserId,
    stored.deliveries,
    stored.history,
  );
  return { created: true, notificationId: notification.notificationId, view };
}

/** The notification an earlier request with this key created, if the key is taken. */
async function findReplay(db: Db, k: IdempotencyClaim): Promise<string | undefined> {
  const [existing] = await db
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.scope, k.scope), eq(idempotencyKeys.key, k.key)));
  return existing ? checkReplay(k, existing) : undefined;
}

/** A key reused for a different request is a conflict, not a replay. */
function checkReplay(
  k: IdempotencyClaim,
  held: { requestHash: string; response: Record<string, unknown> | null },
) {
  if (held.requestHash !== k.requestHash) {
    throw new AppError(
      'IDEMPOTENCY_CONFLICT',
      `Idempotency-Key "${k.key}" was already used for a different request`,
    );
  }
  return String(held.response?.['notification_id']);
}

function hashRequest(input: CreateNotificationInput): string {
  return createHash('sha256')
    .update(
      JSON.stringify([input.userId, input.type, input.context, input.title ?? null, input.message ?? null]),
    )
    .digest('hex');
}
