import type { DeliveryStatus } from '../db/schema.ts';

/**
 * The delivery state machine (docs/architecture.md draws it). Every status change in the code goes
 * through `assertTransition`, and every change writes a history row in the same statement.
 *
 *   queued ──claim──▶ sending ──▶ sent ──callback──▶ delivered | failed | queued (retryable, e.g. 30003)
 *     ▲                 │ ├──▶ delivered (in-app, or provider reports it at once)
 *     └──retryable──────┘ ├──▶ failed (permanent, or retries exhausted)
 *     ▲                   └──▶ skipped (decided at send time, e.g. opted out meanwhile)
 *     └── lease expired (worker died): back to queued, flagged "outcome unknown"
 *   An unknown outcome at the end of the budget is queued too, for a lookup-only attempt that
 *   adopts the provider's message (sent) or, when it has none, fails (deliveries/worker.ts).
 *   skipped is also set at creation for channels the user's preferences do not allow.
 */
const TRANSITIONS: Record<DeliveryStatus, readonly DeliveryStatus[]> = {
  queued: ['sending', 'skipped', 'failed'],
  sending: ['queued', 'sent', 'delivered', 'failed', 'skipped'],
  sent: ['sent', 'delivered', 'failed', 'queued'],
  delivered: [],
  failed: [],
  skipped: [],
};

export const TERMINAL_STATUSES: readonly DeliveryStatus[] = ['delivered', 'failed', 'skipped'];

export function canTransition(from: DeliveryStatus, to: DeliveryStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(from: DeliveryStatus, to: DeliveryStatus): void {
  if (!canTransition(from, to)) throw new Error(`Illegal delivery transition ${from} → ${to}`);
}
