import { type ChannelName, type NotificationTypeDef, requireNotificationType } from '../catalog/catalog.ts';
import { mediaUrlsOf } from '../channels/sms/media.ts';
import type { Db } from '../db/database.ts';
import type { IdempotencyClaim, NewDelivery, NotificationToInsert } from '../deliveries/enqueue.ts';
import { countSmsSinceEach } from '../deliveries/read-deliveries.ts';
import type { RetryPolicy } from '../deliveries/retry-policy.ts';
import { AppError } from '../errors.ts';
import { type DeliveryPolicyConfig, smsCapCounted } from '../preferences/delivery-policy.ts';
import { capPeriodStarts } from '../preferences/sms-caps.ts';
import type { TemplateStore } from '../templates/template-store.ts';
import { decideNotification, type InAppText, renderInAppText, wantsSms } from './decide-notification.ts';
import { checkReplay, claimKey, findIdempotencyKeys, hashRequest } from './idempotency.ts';
import { type NotificationView, toNotificationView } from './notification-view.ts';
import { loadRecipients } from './recipient.ts';
import type { SendAtInput } from './schedule.ts';
import { storeWithRules } from './store-with-rules.ts';

/** Items whose in-app text renders at once: 100 renders, a tenth of the render queue (RENDER_QUEUE_LIMIT). */
const RENDER_SLICE = 50;

export interface CreateNotificationDeps {
  db: Db;
  templates: TemplateStore;
  retryPolicies: Record<ChannelName, RetryPolicy>;
  /** Channels with a running adapter; the others are recorded as skipped. */
  availableChannels: ReadonlySet<ChannelName>;
  now?: () => Date;
  /** Quiet hours, digest holding and SMS caps; without it every delivery is due at once. */
  policy?: DeliveryPolicyConfig;
  /** MMS_MEDIA_HOSTS: where a context's `media_urls` may be (none: media is refused). */
  mediaHosts?: readonly string[];
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
  /** When to send it, and the key that may cancel it meanwhile (notifications/schedule.ts). */
  sendAt?: SendAtInput | undefined;
  cancelKey?: string | undefined;
}

export interface CreateNotificationResult {
  created: boolean;
  notificationId: string;
  /** The stored notification as the API shows it; absent on an idempotent replay (read it again). */
  view?: NotificationView;
}

/**
 * What a notification will be, decided but not yet stored: a replayed key's first notification,
 * the same key and content as an earlier item of the same call (`of`: its index; it gets that
 * item's result), or the rows to write. The single create and the batch
 * (create-notification-batch.ts) both decide through `prepareNotifications` and store through
 * `storeNotifications`, so they cannot differ.
 */
export type PreparedNotification =
  | { kind: 'replay'; notificationId: string }
  | { kind: 'repeat'; of: number }
  | ({ kind: 'new'; externalUserId: string } & NotificationToInsert & { deliveries: NewDelivery[] });

/**
 * The one way a notification comes to exist: a set of one (see prepareNotifications). A replayed
 * Idempotency-Key returns the first notification; otherwise the recipient is read, the
 * notification rendered and each channel decided (queued, or skipped with the reason), then ONE
 * atomic call stores the key, the notification, its deliveries and their history and NOTIFYs the
 * workers (delivered by Postgres only when it commits). Two or three round trips and no open
 * transaction on the hot path. Two requests racing with one key: the second waits on the first's
 * key row and gets its notification.
 */
export async function createNotification(
  deps: CreateNotificationDeps,
  input: CreateNotificationInput,
): Promise<CreateNotificationResult> {
  const [result] = await storeNotifications(deps, await prepareNotifications(deps, [input]), true);
  if (result instanceof AppError) throw result;
  return result!;
}

/**
 * Everything before the write, for any number of notifications in a constant number of round
 * trips: one query for the replayed keys, one for the recipients, one for the SMS counts of the
 * users whose SMS is capped. Then each is decided in order by decideNotification, an SMS queued by
 * an earlier item counting against its user's caps as a stored one would. An item's own error
 * (unknown type or user, a template error, a key conflict) is its result; a database error
 * rejects the whole call.
 */
export async function prepareNotifications(
  deps: CreateNotificationDeps,
  inputs: readonly CreateNotificationInput[],
): Promise<Array<PreparedNotification | AppError>> {
  const out: Array<PreparedNotification | AppError> = new Array(inputs.length);
  const now = deps.now?.() ?? new Date();
  const todo: Array<{ index: number; input: CreateNotificationInput; def: NotificationTypeDef }> = [];
  const claims = new Map<number, IdempotencyClaim>();
  inputs.forEach((input, index) => {
    const def = itemResult(() => {
      const type = requireNotificationType(input.type);
      // Refused at once (422, naming the URL) rather than as a failed SMS later.
      mediaUrlsOf(input.context, deps.mediaHosts ?? []);
      return type;
    });
    if (def instanceof AppError) {
      out[index] = def;
      return;
    }
    todo.push({ index, input, def });
    if (input.idempotencyKey) {
      claims.set(index, {
        scope: input.idempotencyScope ?? 'default',
        key: input.idempotencyKey,
        requestHash: hashRequest(input),
      });
    }
  });

  const held = await findIdempotencyKeys(deps.db, [...claims.values()]);
  const firstWithKey = new Map<string, number>();
  const toDecide = todo.filter(({ index }) => {
    const claim = claims.get(index);
    if (!claim) return true;
    const key = claimKey(claim);
    const holder = held.get(key);
    const first = firstWithKey.get(key);
    if (holder) {
      const id = itemResult(() => checkReplay(claim, holder));
      out[index] = id instanceof AppError ? id : { kind: 'replay', notificationId: id };
    } else if (first !== undefined) {
      const same = itemResult(() =>
        checkReplay(claim, { requestHash: claims.get(first)!.requestHash, response: null }),
      );
      out[index] = same instanceof AppError ? same : { kind: 'repeat', of: first };
    } else {
      firstWithKey.set(key, index);
      return true;
    }
    return false;
  });

  const recipients = await loadRecipients(
    deps.db,
    toDecide.map((t) => t.input.userId),
    deps.policy?.defaultQuietHours ?? null,
  );
  const counted = new Map<number, { userId: number; day: Date; month: Date }>();
  // Per zone, not per user: the zone arithmetic (Intl) costs more than the rest of a decision.
  const periods = new Map<string, { day: Date; month: Date }>();
  for (const { input, def } of toDecide) {
    const r = recipients.get(input.userId);
    if (!r || counted.has(r.user.id) || !smsCapCounted(deps.policy, def.priority, wantsSms(def, r))) continue;
    const zone = r.user.timeZone;
    if (!periods.has(zone)) periods.set(zone, capPeriodStarts(now, zone));
    counted.set(r.user.id, { userId: r.user.id, ...periods.get(zone)! });
  }
  const sent = counted.size > 0 ? await countSmsSinceEach(deps.db, [...counted.values()]) : new Map();

  // Rendered side by side on the render threads, a slice at a time so one big batch leaves room in
  // their queue for other requests; a template error is its item's result.
  const texts = new Map<number, InAppText | AppError>();
  for (let i = 0; i < toDecide.length; i += RENDER_SLICE) {
    await Promise.all(
      toDecide.slice(i, i + RENDER_SLICE).map(async ({ index, input, def }) => {
        const recipient = recipients.get(input.userId);
        if (!recipient) return;
        texts.set(index, await renderInAppText(deps, def, recipient.user, input).catch(itemError));
      }),
    );
  }

  const smsEarlier = new Map<number, number>();
  for (const { index, input, def } of toDecide) {
    const recipient = recipients.get(input.userId);
    if (!recipient) {
      out[index] = new AppError('USER_NOT_FOUND', `No user with id "${input.userId}"`);
      continue;
    }
    const text = texts.get(index)!;
    if (text instanceof AppError) {
      out[index] = text;
      continue;
    }
    const userId = recipient.user.id;
    // Counted for the user's capped items only: an exempt one (critical) is never capped.
    const before = smsCapCounted(deps.policy, def.priority, wantsSms(def, recipient))
      ? sent.get(userId)
      : undefined;
    const earlier = smsEarlier.get(userId) ?? 0;
    const prepared = itemResult(() =>
      decideNotification(deps, {
        input,
        def,
        recipient,
        text,
        idempotency: claims.get(index),
        smsSent: before && { today: before.today + earlier, thisMonth: before.thisMonth + earlier },
        now,
      }),
    );
    out[index] = prepared;
    if (
      !(prepared instanceof AppError) &&
      prepared.deliveries.some((d) => d.channel === 'sms' && d.status === 'queued')
    ) {
      smsEarlier.set(userId, earlier + 1);
    }
  }
  return out;
}

/**
 * The write: ONE atomic call for every new notification of the set (insertNotifications; in one
 * transaction with the collapse and throttle rules when a type of the set has them, see
 * store-with-rules.ts); one result per prepared item, in order. A key taken meanwhile by a request that committed first is
 * that request's notification, or a conflict; a repeat gets its first item's result. `withViews`:
 * answer each created one's view from the rows written (the single create).
 */
export async function storeNotifications(
  deps: Pick<CreateNotificationDeps, 'db' | 'now'>,
  prepared: ReadonlyArray<PreparedNotification | AppError>,
  withViews: boolean,
): Promise<Array<CreateNotificationResult | AppError>> {
  const fresh = prepared.flatMap((p, index) =>
    p instanceof AppError || p.kind !== 'new' ? [] : [{ index, p }],
  );
  const inserted =
    fresh.length > 0
      ? await storeWithRules(
          deps.db,
          fresh.map((f) => f.p),
          withViews,
          deps.now?.() ?? new Date(),
        )
      : [];
  const out: Array<CreateNotificationResult | AppError> = prepared.map((p) => {
    if (p instanceof AppError) return p;
    return { created: false, notificationId: p.kind === 'replay' ? p.notificationId : '' };
  });
  fresh.forEach(({ index, p }, i) => {
    const stored = inserted[i]!;
    if (stored.kind === 'existing') {
      const id = itemResult(() => checkReplay(p.idempotency!, stored));
      out[index] = id instanceof AppError ? id : { created: false, notificationId: id };
      return;
    }
    out[index] = {
      created: true,
      notificationId: p.notification.notificationId,
      ...(stored.rows && {
        view: toNotificationView(
          stored.rows.notification,
          p.externalUserId,
          stored.rows.deliveries,
          stored.rows.history,
        ),
      }),
    };
  });
  // A repeat comes after its first item, whose result is settled by now.
  prepared.forEach((p, index) => {
    if (p instanceof AppError || p.kind !== 'repeat') return;
    const first = out[p.of]!;
    out[index] = first instanceof AppError ? first : { created: false, notificationId: first.notificationId };
  });
  return out;
}

/** An item's own error (an AppError) as its result; anything else (the database) is thrown. */
function itemResult<T>(fn: () => T): T | AppError {
  try {
    return fn();
  } catch (err) {
    return itemError(err);
  }
}

function itemError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  throw err;
}
