/**
 * The one schema (Drizzle). PostgreSQL only: the same tables run on PGlite (embedded) and PostgreSQL.
 * Migrations in src/db/migrations are generated from this file with `npm run db:generate`.
 * Statuses are plain text with CHECK constraints instead of Postgres enums, so adding a state is a
 * simple migration on both engines.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  date,
  doublePrecision,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const id = () => bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity();
const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();

export const users = pgTable(
  'users',
  {
    id: id(),
    externalId: text('external_id').notNull(),
    email: text('email'),
    phone: text('phone'),
    firstName: text('first_name'),
    lastName: text('last_name'),
    locale: text('locale').notNull().default('en'),
    /** Their own setting; null: the phone's country decides, else the default (user-time-zone.ts). */
    timeZone: text('time_zone'),
    role: text('role').notNull().default('customer'),
    /** Free-form properties the backend sets (city, segment…): flat, scalar values (src/users/). */
    attributes: jsonb('attributes').$type<Record<string, string | number | boolean>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('users_external_id_key').on(t.externalId),
    index('users_email_idx').on(t.email),
    index('users_phone_idx').on(t.phone),
    // Containment (`attributes @> '{"city":"Pune"}'`) only: jsonb_path_ops is smaller and faster
    // than the default opclass for @>, and the audience filter asks nothing else (no ? / ?| keys).
    index('users_attributes_idx').using('gin', t.attributes.op('jsonb_path_ops')),
    check('users_role_check', sql`${t.role} in ('customer', 'partner', 'admin')`),
  ],
);

/** Explicit choices only; a missing row means the channel default (see preferences/preference-map.ts). */
export const notificationPreferences = pgTable(
  'notification_preferences',
  {
    userId: bigint('user_id', { mode: 'number' })
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    category: text('category').notNull(),
    channel: text('channel').notNull(),
    enabled: boolean('enabled').notNull(),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.category, t.channel] })],
);

/** Every preference change: who, when, from what, to what, by which route. */
export const preferenceChanges = pgTable(
  'preference_changes',
  {
    id: id(),
    userId: bigint('user_id', { mode: 'number' })
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    category: text('category').notNull(),
    channel: text('channel').notNull(),
    fromEnabled: boolean('from_enabled'),
    toEnabled: boolean('to_enabled').notNull(),
    source: text('source').notNull(),
    actor: text('actor'),
    reason: text('reason'),
    createdAt: createdAt(),
  },
  (t) => [index('preference_changes_user_idx').on(t.userId, t.createdAt)],
);

/** Versioned: every edit adds a row; exactly one active row per type × field × locale. */
export const notificationTemplates = pgTable(
  'notification_templates',
  {
    id: id(),
    type: text('type').notNull(),
    field: text('field').notNull(),
    locale: text('locale').notNull(),
    version: integer('version').notNull(),
    source: text('source').notNull(),
    active: boolean('active').notNull().default(true),
    dltTemplateId: text('dlt_template_id'),
    dltText: text('dlt_text'),
    createdBy: text('created_by'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('notification_templates_version_key').on(t.type, t.field, t.locale, t.version),
    uniqueIndex('notification_templates_active_key').on(t.type, t.field, t.locale).where(sql`${t.active}`),
  ],
);

export const notifications = pgTable(
  'notifications',
  {
    id: id(),
    notificationId: text('notification_id').notNull(),
    userId: bigint('user_id', { mode: 'number' })
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    category: text('category').notNull(),
    priority: text('priority').notNull(),
    title: text('title').notNull(),
    message: text('message').notNull(),
    context: jsonb('context').$type<Record<string, unknown>>().notNull().default({}),
    readAt: timestamp('read_at', { withTimezone: true }),
    /** Delivery rules (catalog/delivery-rules.ts): when it was asked to go out, and its keys. */
    sendAt: timestamp('send_at', { withTimezone: true }),
    cancelKey: text('cancel_key'),
    collapseKey: text('collapse_key'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('notifications_notification_id_key').on(t.notificationId),
    // Cancel by key, and the newer notification of a collapse key finding the older (migration 0019).
    index('notifications_cancel_key_idx').on(t.cancelKey).where(sql`${t.cancelKey} is not null`),
    index('notifications_collapse_idx')
      .on(t.userId, t.type, t.collapseKey)
      .where(sql`${t.collapseKey} is not null`),
    index('notifications_user_created_idx').on(t.userId, t.createdAt),
    // The activity list's newest-first pages, overall and per type (migration 0014).
    index('notifications_created_idx').on(t.createdAt, t.id),
    index('notifications_type_created_idx').on(t.type, t.createdAt, t.id),
  ],
);

export const DELIVERY_STATUSES = ['skipped', 'queued', 'sending', 'sent', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** One row per notification × channel. It is also the queue (transactional outbox). */
/**
 * A/B tests of a template (docs/templates.md#ab-variants): a group of variants, each a full text for
 * one channel of a type in a locale, sent to the share of users its weight gives. The group's id,
 * not type × channel × locale, keys the sticky assignment (templates/variant-assignment.ts), so a
 * template that is not a type's (a campaign's) can have a group of its own later. At most one group
 * runs per type × channel × locale; promoted and stopped ones are kept with their figures.
 */
export const templateVariantGroups = pgTable(
  'template_variant_groups',
  {
    id: id(),
    type: text('type').notNull(),
    channel: text('channel').notNull(),
    locale: text('locale').notNull(),
    status: text('status').$type<'running' | 'promoted' | 'stopped'>().notNull().default('running'),
    /** What the confidence is judged on: the delivered rate or the share that replied YES. */
    metric: text('metric').$type<'delivered' | 'replies'>().notNull().default('delivered'),
    promotedVariantId: bigint('promoted_variant_id', { mode: 'number' }),
    createdBy: text('created_by'),
    createdAt: createdAt(),
    endedAt: timestamp('ended_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('template_variant_groups_running_key')
      .on(t.type, t.channel, t.locale)
      .where(sql`${t.status} = 'running'`),
    check('template_variant_groups_status_check', sql`${t.status} in ('running', 'promoted', 'stopped')`),
    check('template_variant_groups_metric_check', sql`${t.metric} in ('delivered', 'replies')`),
  ],
);

export const templateVariants = pgTable(
  'template_variants',
  {
    id: id(),
    groupId: bigint('group_id', { mode: 'number' })
      .notNull()
      .references(() => templateVariantGroups.id, { onDelete: 'cascade' }),
    label: text('label').notNull(),
    weight: integer('weight').notNull(),
    /** The channel's fields (`{"sms": "…"}`): the text is fixed once the test starts, so figures are of one text. */
    fields: jsonb('fields').$type<Record<string, string>>().notNull(),
    dltTemplateId: text('dlt_template_id'),
    dltText: text('dlt_text'),
  },
  (t) => [
    uniqueIndex('template_variants_label_key').on(t.groupId, t.label),
    check('template_variants_weight_check', sql`${t.weight} >= 0 and ${t.weight} <= 10000`),
  ],
);

export const deliveries = pgTable(
  'deliveries',
  {
    id: id(),
    notificationId: bigint('notification_id', { mode: 'number' })
      .notNull()
      .references(() => notifications.id, { onDelete: 'cascade' }),
    channel: text('channel').notNull(),
    status: text('status').$type<DeliveryStatus>().notNull(),
    skipReason: text('skip_reason'),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull(),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: timestamp('lease_expires_at', { withTimezone: true }),
    providerMessageId: text('provider_message_id'),
    providerStatus: text('provider_status'),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    costAmount: numeric('cost_amount', { precision: 12, scale: 5 }),
    costCurrency: text('cost_currency'),
    details: jsonb('details').$type<Record<string, unknown>>(),
    /**
     * This channel's part of the seed's `notification.metadata` (`{"sms": {sent, message_sid, status,
     * …}}`), kept on the delivery so an outcome or a status report changes one row, not two; a
     * notification's metadata is its deliveries' parts merged (notifications/notification-metadata.ts).
     */
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    sentAt: timestamp('sent_at', { withTimezone: true }),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    failedAt: timestamp('failed_at', { withTimezone: true }),
    /**
     * The W3C traceparent of the request that created it, so the worker's send continues that trace
     * (migration 0026): written only while tracing is on (docs/metrics.md#traces).
     */
    traceParent: text('trace_parent'),
    /**
     * The A/B variant its text came from (migration 0032): copied from `details.variant`, which the
     * channel writes, by a trigger, so the hot-path functions need not know about variants.
     */
    templateVariantId: bigint('template_variant_id', { mode: 'number' }).references(
      () => templateVariants.id,
    ),
  },
  (t) => [
    uniqueIndex('deliveries_notification_channel_key').on(t.notificationId, t.channel),
    // Two lanes of due rows (migration 0030): the claim reads the regular one first, so a campaign's
    // backlog (details.campaign) never stands in front of an order's message (docs/campaigns.md).
    index('deliveries_due_idx')
      .on(t.channel, t.nextAttemptAt)
      .where(sql`${t.status} = 'queued' and (${t.details}->>'campaign') is null`),
    index('deliveries_campaign_due_idx')
      .on(t.channel, t.nextAttemptAt)
      .where(sql`${t.status} = 'queued' and (${t.details}->>'campaign') is not null`),
    // A campaign's figures, pause and resume read its deliveries by the campaign's id.
    index('deliveries_campaign_idx')
      .on(sql`(${t.details}->>'campaign')`, t.status)
      .where(sql`(${t.details}->>'campaign') is not null`),
    index('deliveries_lease_idx').on(t.leaseExpiresAt).where(sql`${t.status} = 'sending'`),
    // Partial: most row versions have no sid yet (queued, sending, in-app), and each would add an entry.
    index('deliveries_provider_message_idx')
      .on(t.providerMessageId)
      .where(sql`${t.providerMessageId} is not null`),
    // The stats window, and the activity list's error-code filter (migration 0014).
    index('deliveries_created_idx').on(t.createdAt),
    index('deliveries_error_code_idx').on(t.errorCode).where(sql`${t.errorCode} is not null`),
    // The fallback pass's reads since its bookmark (migration 0024).
    index('deliveries_failed_idx').on(t.failedAt, t.id).where(sql`${t.status} = 'failed'`),
    // Per-variant figures (migration 0032); partial: most deliveries are of no test.
    index('deliveries_template_variant_idx')
      .on(t.templateVariantId)
      .where(sql`${t.templateVariantId} is not null`),
    check(
      'deliveries_status_check',
      sql`${t.status} in ('skipped', 'queued', 'sending', 'sent', 'delivered', 'failed')`,
    ),
  ],
);

export const deliveryStatusHistory = pgTable(
  'delivery_status_history',
  {
    id: id(),
    deliveryId: bigint('delivery_id', { mode: 'number' })
      .notNull()
      .references(() => deliveries.id, { onDelete: 'cascade' }),
    fromStatus: text('from_status'),
    toStatus: text('to_status').notNull(),
    providerStatus: text('provider_status'),
    errorCode: text('error_code'),
    detail: text('detail'),
    createdAt: createdAt(),
  },
  (t) => [index('delivery_status_history_delivery_idx').on(t.deliveryId, t.id)],
);

export const apiKeys = pgTable(
  'api_keys',
  {
    id: id(),
    name: text('name').notNull(),
    prefix: text('prefix').notNull(),
    keyHash: text('key_hash').notNull(),
    role: text('role').notNull(),
    createdAt: createdAt(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('api_keys_key_hash_key').on(t.keyHash),
    check('api_keys_role_check', sql`${t.role} in ('admin', 'service', 'viewer')`),
  ],
);

/** A retried trigger with the same key returns the stored response instead of notifying twice. */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    scope: text('scope').notNull(),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    response: jsonb('response').$type<Record<string, unknown>>(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.key] }), index('idempotency_keys_created_idx').on(t.createdAt)],
);

/** Secrets and keys the service generates for itself on first start (user-token secret, VAPID keys). */
export const serviceSettings = pgTable('service_settings', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  createdAt: createdAt(),
});

/** A user's quiet hours (local "HH:MM"). No row: the configured default; both null: no quiet hours. */
export const notificationSettings = pgTable('notification_settings', {
  userId: bigint('user_id', { mode: 'number' })
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  quietHoursStart: text('quiet_hours_start'),
  quietHoursEnd: text('quiet_hours_end'),
  updatedAt: updatedAt(),
});

/** Changes to settings that are not on/off flags (quiet hours, time zone): from what, to what, by whom. */
export const notificationSettingsChanges = pgTable(
  'notification_settings_changes',
  {
    id: id(),
    userId: bigint('user_id', { mode: 'number' })
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    field: text('field').notNull(),
    fromValue: text('from_value'),
    toValue: text('to_value'),
    source: text('source').notNull(),
    actor: text('actor'),
    createdAt: createdAt(),
  },
  (t) => [index('notification_settings_changes_user_idx').on(t.userId, t.createdAt)],
);

/** SMS users sent us: keywords, free replies, and order confirmations (a YES to a question). */
export const inboundSms = pgTable(
  'inbound_sms',
  {
    id: id(),
    messageSid: text('message_sid').notNull(),
    userId: bigint('user_id', { mode: 'number' }).references(() => users.id, { onDelete: 'set null' }),
    fromPhone: text('from_phone').notNull(),
    toPhone: text('to_phone').notNull(),
    body: text('body').notNull(),
    keyword: text('keyword'),
    /** The SMS notification this replies to (the user's latest), when there was one. */
    notificationId: bigint('notification_id', { mode: 'number' }).references(() => notifications.id, {
      onDelete: 'set null',
    }),
    orderNumber: text('order_number'),
    confirmed: boolean('confirmed').notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('inbound_sms_message_sid_key').on(t.messageSid),
    index('inbound_sms_user_idx').on(t.userId, t.createdAt),
    index('inbound_sms_order_idx').on(t.orderNumber),
    // Retention (migration 0027): its scan by age, and the SET NULL a deleted notification makes here.
    index('inbound_sms_created_idx').on(t.createdAt, t.id),
    index('inbound_sms_notification_idx').on(t.notificationId).where(sql`${t.notificationId} is not null`),
  ],
);

/**
 * Provider status reports that arrived before the worker stored the message's sid (a fast
 * callback racing the batched outcome write). Applied when the sid is written; see
 * lc_complete_deliveries in src/db/schema.sql.
 */
export const earlyProviderStatuses = pgTable(
  'early_provider_statuses',
  {
    id: id(),
    providerMessageId: text('provider_message_id').notNull(),
    report: jsonb('report').$type<Record<string, unknown>>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('early_provider_statuses_message_idx').on(t.providerMessageId),
    index('early_provider_statuses_received_idx').on(t.createdAt),
  ],
);

/** One token bucket per sender number, shared by every worker (see channels/sms/send-rate.ts). */
export const smsSendRate = pgTable('sms_send_rate', {
  sender: text('sender').primaryKey(),
  tokens: doublePrecision('tokens').notNull(),
  refilledAt: timestamp('refilled_at', { withTimezone: true }).notNull(),
});

/** Budget thresholds crossed per UTC day; the primary key makes each alert fire once across workers. */
export const smsBudgetAlerts = pgTable(
  'sms_budget_alerts',
  {
    day: date('day').notNull(),
    threshold: integer('threshold').notNull(),
    spent: numeric('spent', { precision: 14, scale: 5 }).notNull(),
    budget: numeric('budget', { precision: 14, scale: 5 }).notNull(),
    currency: text('currency').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.day, t.threshold] })],
);

/** A browser's Web Push subscription (PushSubscription.toJSON()); one endpoint belongs to one user. */
export const pushSubscriptions = pgTable(
  'push_subscriptions',
  {
    id: id(),
    userId: bigint('user_id', { mode: 'number' })
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    endpoint: text('endpoint').notNull(),
    p256dh: text('p256dh').notNull(),
    auth: text('auth').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('push_subscriptions_endpoint_key').on(t.endpoint),
    index('push_subscriptions_user_idx').on(t.userId),
  ],
);

/**
 * A signed-in operator console (src/console/session.ts). Only the SHA-256 of the cookie's random id
 * is stored, so a copy of this table opens no session. The idle and absolute limits are judged on
 * `last_seen_at` and `created_at` against the app's clock; revoking the key ends its sessions.
 */
export const consoleSessions = pgTable(
  'console_sessions',
  {
    id: id(),
    tokenHash: text('token_hash').notNull(),
    apiKeyId: bigint('api_key_id', { mode: 'number' })
      .notNull()
      .references(() => apiKeys.id, { onDelete: 'cascade' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    uniqueIndex('console_sessions_token_hash_key').on(t.tokenHash),
    index('console_sessions_api_key_idx').on(t.apiKeyId),
  ],
);

/**
 * Every change made from the operator console (issue 15): who (the key, and its name then, as a
 * key can be renamed or deleted), what, when, and the target's state before and after.
 */
export const consoleAudit = pgTable(
  'console_audit',
  {
    id: id(),
    at: timestamp('at', { withTimezone: true }).notNull(),
    apiKeyId: bigint('api_key_id', { mode: 'number' }).references(() => apiKeys.id, { onDelete: 'set null' }),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    targetType: text('target_type').notNull(),
    targetId: text('target_id').notNull(),
    before: jsonb('before'),
    after: jsonb('after'),
  },
  (t) => [
    index('console_audit_at_idx').on(t.at),
    index('console_audit_target_idx').on(t.targetType, t.targetId),
  ],
);

/**
 * Retention's last run (src/retention/, migration 0027): one row, so the worker nodes run it once
 * per RETENTION_INTERVAL_MS between them, and an operator sees when it last ran and what it deleted.
 */
export const retentionState = pgTable(
  'retention_state',
  {
    id: integer('id').primaryKey().default(1),
    lastStartedAt: timestamp('last_started_at', { withTimezone: true }),
    lastFinishedAt: timestamp('last_finished_at', { withTimezone: true }),
    lastDeleted: jsonb('last_deleted').$type<Record<string, number>>(),
  },
  (t) => [check('retention_state_one_row', sql`${t.id} = 1`)],
);

/**
 * An outbound webhook endpoint of the marketplace backend (issue 20 §1, src/webhooks/). Its
 * `whsec_` secret signs by the Standard Webhooks scheme; during a rotation the previous secret signs
 * too until `previous_secret_until`. Empty `event_types`: every event.
 */
export const webhookEndpoints = pgTable('webhook_endpoints', {
  id: id(),
  url: text('url').notNull(),
  eventTypes: text('event_types').array().notNull().default(sql`'{}'::text[]`),
  description: text('description').notNull().default(''),
  enabled: boolean('enabled').notNull().default(true),
  secret: text('secret').notNull(),
  previousSecret: text('previous_secret'),
  previousSecretUntil: timestamp('previous_secret_until', { withTimezone: true }),
  /** Why it was switched off (a 410 Gone, an operator): kept until it is enabled again. */
  disabledReason: text('disabled_reason'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const WEBHOOK_OUTBOX_STATES = ['pending', 'failed', 'delivered', 'dead'] as const;

/**
 * One row per event × endpoint, written by triggers in the transaction of the change (migration
 * 0025): each endpoint has its own attempts, due time and end state. `message_id` (`msg_…`, the
 * `webhook-id` header) is the event's, the same for every endpoint and every retry.
 */
export const webhookOutbox = pgTable(
  'webhook_outbox',
  {
    id: id(),
    messageId: text('message_id').notNull(),
    endpointId: bigint('endpoint_id', { mode: 'number' })
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    eventType: text('event_type').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    createdAt: createdAt(),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    attempts: integer('attempts').notNull().default(0),
    state: text('state').$type<(typeof WEBHOOK_OUTBOX_STATES)[number]>().notNull().default('pending'),
    /** A dispatcher holds the row while it sends; an expired lease makes it due again. */
    leaseUntil: timestamp('lease_until', { withTimezone: true }),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('webhook_outbox_message_endpoint_key').on(t.messageId, t.endpointId),
    // The claim reads each endpoint's due rows, oldest first, up to its free slots.
    index('webhook_outbox_due_idx')
      .on(t.endpointId, t.nextAttemptAt)
      .where(sql`${t.state} in ('pending', 'failed')`),
    index('webhook_outbox_leased_idx').on(t.endpointId, t.leaseUntil).where(sql`${t.leaseUntil} is not null`),
    check('webhook_outbox_state_check', sql`${t.state} in ('pending', 'failed', 'delivered', 'dead')`),
  ],
);

/** Every attempt to send an outbox row: the answer's status (or the error), latency and first 1 KB. */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    id: id(),
    outboxId: bigint('outbox_id', { mode: 'number' })
      .notNull()
      .references(() => webhookOutbox.id, { onDelete: 'cascade' }),
    endpointId: bigint('endpoint_id', { mode: 'number' })
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    attemptedAt: timestamp('attempted_at', { withTimezone: true }).notNull(),
    statusCode: integer('status_code'),
    error: text('error'),
    latencyMs: integer('latency_ms').notNull(),
    responseExcerpt: text('response_excerpt'),
  },
  (t) => [
    index('webhook_attempts_endpoint_idx').on(t.endpointId, t.id),
    index('webhook_attempts_outbox_idx').on(t.outboxId),
  ],
);

/**
 * A short link the `track` template filter put in a message (docs/tracked-links.md, migration 0031):
 * its id is the path `/l/<id>`, random (72 bits), never derived from the target. One per delivery ×
 * target, so a retried attempt reuses the row and sends the same text (src/links/link-store.ts).
 */
export const trackedLinks = pgTable(
  'tracked_links',
  {
    id: text('id').primaryKey(),
    deliveryId: bigint('delivery_id', { mode: 'number' })
      .notNull()
      .references(() => deliveries.id, { onDelete: 'cascade' }),
    target: text('target').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('tracked_links_delivery_target_key').on(t.deliveryId, t.target)],
);

export const LINK_CLIENT_CLASSES = ['browser', 'bot', 'unknown'] as const;

/**
 * One GET of a tracked link (a HEAD is not a click): the delivery is copied from the link so the
 * delivery timeline, and campaign and variant figures through the delivery, read clicks by index.
 */
export const linkClicks = pgTable(
  'link_clicks',
  {
    id: id(),
    linkId: text('link_id')
      .notNull()
      .references(() => trackedLinks.id, { onDelete: 'cascade' }),
    deliveryId: bigint('delivery_id', { mode: 'number' })
      .notNull()
      .references(() => deliveries.id, { onDelete: 'cascade' }),
    clickedAt: timestamp('clicked_at', { withTimezone: true }).notNull(),
    /** From the User-Agent: a link preview or crawler (`bot`) is kept apart from a person's browser. */
    clientClass: text('client_class').$type<(typeof LINK_CLIENT_CLASSES)[number]>().notNull(),
  },
  (t) => [
    index('link_clicks_delivery_idx').on(t.deliveryId, t.clickedAt),
    index('link_clicks_link_idx').on(t.linkId),
    check('link_clicks_client_class_check', sql`${t.clientClass} in ('browser', 'bot', 'unknown')`),
  ],
);

export const CAMPAIGN_STATES = ['draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled'] as const;
export type CampaignState = (typeof CAMPAIGN_STATES)[number];

/**
 * A promotional campaign (issue 19, src/campaigns/): its client-given id, the request it was created
 * from (`spec`: audience, content, schedule; `request_hash` makes a retried create a replay), its
 * state, and how far its audience has been expanded into notifications (`expand_cursor`, so an
 * interrupted expansion resumes where it stopped; `queued_count` paces the next recipients).
 */
export const campaigns = pgTable(
  'campaigns',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    requestHash: text('request_hash').notNull(),
    spec: jsonb('spec').$type<Record<string, unknown>>().notNull(),
    state: text('state').$type<CampaignState>().notNull().default('draft'),
    startAt: timestamp('start_at', { withTimezone: true }),
    expandCursor: bigint('expand_cursor', { mode: 'number' }),
    expanded: boolean('expanded').notNull().default(false),
    queuedCount: integer('queued_count').notNull().default(0),
    /** Listed user ids with no such user: counted as skipped, as they have no delivery to count. */
    unknownUsers: integer('unknown_users').notNull().default(0),
    createdBy: text('created_by'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [
    index('campaigns_state_idx').on(t.state).where(sql`${t.state} in ('scheduled', 'running')`),
    check(
      'campaigns_state_check',
      sql`${t.state} in ('draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled')`,
    ),
  ],
);
