import { type SQL, sql } from 'drizzle-orm';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../db/schema.ts';

/**
 * The delivery state machine: every event that changes a delivery's status, the states it may
 * start from (null: the row does not exist yet) and the one it leads to. This table is the only
 * place a status is decided. TypeScript names the event (deliveries/outcome.ts for an attempt's
 * outcome; the reaper, opt-out and digest statements take theirs from here through `fromGuard`);
 * the SQL functions take the table as `p_machine` (TRANSITIONS_JSON), read the event's to-state
 * and from-states from it, and leave a row in any other state unchanged (live bodies in
 * src/db/schema.sql).
 * test/deliveries/state-machine-sql.test.ts fires every event from every state,
 * test/deliveries/status-writes.test.ts finds status writes outside the write paths, and
 * docs/architecture.md's diagram is generated from this table (scripts/state-machine-doc.ts).
 */
export interface Transition {
  from: readonly (DeliveryStatus | null)[];
  to: DeliveryStatus;
  /** The one write path that fires it (an SQL function, or the TS function holding the statement). */
  by: WritePath;
  /** What else it writes (the history row is always written). */
  effects: string;
}

export const WRITE_PATHS = [
  'lc_insert_notifications',
  'lc_claim_deliveries',
  'lc_complete_deliveries',
  'lc_apply_provider_statuses',
  'reapExpiredLeases',
  'skipQueuedSmsForUser',
  'mergeUserDigest',
  'resendFailedDelivery',
  'supersedeDeliveries',
  'cancelDeliveries',
  'createFallbackDeliveries',
] as const;
export type WritePath = (typeof WRITE_PATHS)[number];

export const TRANSITIONS = {
  create_queued: {
    from: [null],
    to: 'queued',
    by: 'lc_insert_notifications',
    effects: 'the channel is allowed; due now, or later (quiet hours), or held (digest)',
  },
  create_skipped: {
    from: [null],
    to: 'skipped',
    by: 'lc_insert_notifications',
    effects: 'skip_reason (opted out, no phone, invalid phone, not configured)',
  },
  claim: {
    from: ['queued'],
    to: 'sending',
    by: 'lc_claim_deliveries',
    effects: 'lease (owner, expiry), attempts + 1',
  },
  send_ok: {
    from: ['sending'],
    to: 'sent',
    by: 'lc_complete_deliveries',
    effects: 'provider id, cost, sent_at',
  },
  send_delivered: {
    from: ['sending'],
    to: 'delivered',
    by: 'lc_complete_deliveries',
    effects: 'in-app stored, or the provider reported it at once; delivered_at',
  },
  send_retry: {
    from: ['sending'],
    to: 'queued',
    by: 'lc_complete_deliveries',
    effects: 'retryable failure with attempts left; next_attempt_at by the policy',
  },
  send_exhausted_unknown: {
    from: ['sending'],
    to: 'queued',
    by: 'lc_complete_deliveries',
    effects: 'budget spent, outcome unknown: queued for a lookup-only attempt',
  },
  send_exhausted: {
    from: ['sending'],
    to: 'failed',
    by: 'lc_complete_deliveries',
    effects: 'retryable failure, budget spent, the provider refused; failed_at',
  },
  send_permanent: {
    from: ['sending'],
    to: 'failed',
    by: 'lc_complete_deliveries',
    effects: 'permanent provider error; failed_at',
  },
  send_skipped: {
    from: ['sending'],
    to: 'skipped',
    by: 'lc_complete_deliveries',
    effects:
      'decided at send time (e.g. no phone; read_in_app: an escalation’s in-app message was read); skip_reason',
  },
  lookup_adopt: {
    from: ['sending'],
    to: 'sent',
    by: 'lc_complete_deliveries',
    effects: 'the provider has the earlier attempt’s message: its sid is adopted',
  },
  lookup_adopt_delivered: {
    from: ['sending'],
    to: 'delivered',
    by: 'lc_complete_deliveries',
    effects: 'the adopted message is already delivered',
  },
  lookup_none: {
    from: ['sending'],
    to: 'failed',
    by: 'lc_complete_deliveries',
    effects: 'the provider has no such message: NOT_SENT',
  },
  lookup_retry: {
    from: ['sending'],
    to: 'queued',
    by: 'lc_complete_deliveries',
    effects: 'the lookup failed, lookups left: asked again (LOOKUP_FAILED)',
  },
  lookup_exhausted: {
    from: ['sending'],
    to: 'failed',
    by: 'lc_complete_deliveries',
    effects: 'the lookups are spent too: LOOKUP_FAILED, outcome_unknown kept',
  },
  lease_expired: {
    from: ['sending'],
    to: 'queued',
    by: 'reapExpiredLeases',
    effects: 'the worker died mid-attempt; outcome_unknown, lease cleared',
  },
  lease_expired_final: {
    from: ['sending'],
    to: 'failed',
    by: 'reapExpiredLeases',
    effects: 'as lease_expired, with attempts and lookups spent: LEASE_EXPIRED',
  },
  provider_progress: {
    from: ['sent'],
    to: 'sent',
    by: 'lc_apply_provider_statuses',
    effects: 'a newer, non-final provider status; provider_status',
  },
  provider_delivered: {
    from: ['sent'],
    to: 'delivered',
    by: 'lc_apply_provider_statuses',
    effects: 'delivered/read callback; delivered_at',
  },
  provider_retry: {
    from: ['sent'],
    to: 'queued',
    by: 'lc_apply_provider_statuses',
    effects: 'retryable failure (e.g. 30003) with attempts left',
  },
  provider_failed: {
    from: ['sent'],
    to: 'failed',
    by: 'lc_apply_provider_statuses',
    effects: 'failed/undelivered callback (or retryable, budget spent)',
  },
  opt_out_skip: {
    from: ['queued'],
    to: 'skipped',
    by: 'skipQueuedSmsForUser',
    effects: 'the user opted out of SMS; disabled_by_user',
  },
  digest_merge: {
    from: ['queued'],
    to: 'skipped',
    by: 'mergeUserDigest',
    effects: 'folded into the user’s digest email; digested',
  },
  digest_release: {
    from: ['queued'],
    to: 'queued',
    by: 'mergeUserDigest',
    effects: 'the digest’s carrier, held until now, is made due with the item list',
  },
  resend: {
    from: ['failed'],
    to: 'queued',
    by: 'resendFailedDelivery',
    effects: 'an admin resent it from the console (audited): due now, one more send (attempts = max − 1)',
  },
  supersede: {
    from: ['queued'],
    to: 'skipped',
    by: 'supersedeDeliveries',
    effects: 'a newer notification of the same user, type and collapse key was stored; superseded',
  },
  cancel: {
    from: ['queued'],
    to: 'skipped',
    by: 'cancelDeliveries',
    effects: 'cancelled by id or by key (e.g. order.cancelled) before it was sent; cancelled',
  },
  // Fallback (catalog rule; notifications/fallback-pass.ts): a delivery that failed for good gets
  // one on the next channel of its type's list, and keeps a line saying so.
  fallback_queued: {
    from: [null],
    to: 'queued',
    by: 'createFallbackDeliveries',
    effects:
      'the next channel of the fallback list, allowed: due now or after quiet hours; details.fallback_from',
  },
  fallback_skipped: {
    from: [null],
    to: 'skipped',
    by: 'createFallbackDeliveries',
    effects: 'the next channel of the fallback list, not allowed (preference, no address): skip_reason',
  },
  fallback_linked: {
    from: ['failed'],
    to: 'failed',
    by: 'createFallbackDeliveries',
    effects:
      'no status change: the failed delivery records its fallback (details.fallback_to) and a history line',
  },
} as const satisfies Record<string, Transition>;

export type DeliveryEvent = keyof typeof TRANSITIONS;
/** The events one write path fires. */
export type EventsBy<P extends WritePath> = {
  [E in DeliveryEvent]: (typeof TRANSITIONS)[E]['by'] extends P ? E : never;
}[DeliveryEvent];

/** The table as the SQL functions take it (`p_machine`). */
export const TRANSITIONS_JSON = JSON.stringify(
  Object.fromEntries(Object.entries(TRANSITIONS).map(([e, t]) => [e, { from: t.from, to: t.to }])),
);

/** The statuses no event leaves (delivered, skipped; failed is left only by an operator's resend). */
export const TERMINAL_STATUSES: readonly DeliveryStatus[] = DELIVERY_STATUSES.filter(
  (s) => !Object.values(TRANSITIONS).some((t) => (t.from as readonly (DeliveryStatus | null)[]).includes(s)),
);

export function canTransition(from: DeliveryStatus | null, event: DeliveryEvent): boolean {
  return (TRANSITIONS[event].from as readonly (DeliveryStatus | null)[]).includes(from);
}

/** The one state `event` starts from, for a statement that records it in the history. */
export function onlyFrom(event: DeliveryEvent): DeliveryStatus {
  const [first, ...more] = TRANSITIONS[event].from as readonly (DeliveryStatus | null)[];
  if (!first || more.length > 0) throw new Error(`${event} has no single from-state`);
  return first;
}

/** `column = any(from-states of event)`: the guard of an inline statement that fires `event`. */
export function fromGuard(column: SQL, event: DeliveryEvent): SQL {
  const from = (TRANSITIONS[event].from as readonly (DeliveryStatus | null)[]).filter((s) => s !== null);
  return sql`${column} = any(${`{${from.join(',')}}`}::text[])`;
}
