/**
 * The campaign state machine, as a table the code runs (docs/campaigns.md draws it): each action,
 * the states it may leave and the one it leads to. Anything else is a CAMPAIGN_STATE error (409).
 */
import type { CampaignState } from '../db/schema.ts';
import { AppError } from '../errors.ts';

export const CAMPAIGN_TRANSITIONS = {
  /** start with a later instant: waits for it. */
  schedule: { from: ['draft'], to: 'scheduled' },
  /** start now (or a local time per recipient), or a scheduled one whose time came: expands and sends. */
  start: { from: ['draft', 'scheduled'], to: 'running' },
  /** Its queued deliveries are held; expansion stops. */
  pause: { from: ['scheduled', 'running'], to: 'paused' },
  resume: { from: ['paused'], to: 'running' },
  /** Its queued deliveries are cancelled in the same transaction: nothing more is sent. */
  cancel: { from: ['draft', 'scheduled', 'running', 'paused'], to: 'cancelled' },
  /** Every recipient expanded and none of its deliveries left to send. */
  complete: { from: ['running'], to: 'completed' },
} as const satisfies Record<string, { from: readonly CampaignState[]; to: CampaignState }>;

export type CampaignAction = keyof typeof CAMPAIGN_TRANSITIONS;

/** The state `action` leads to from `state`, or a 409 saying what the campaign is. */
export function nextState(id: string, state: CampaignState, action: CampaignAction): CampaignState {
  const t = CAMPAIGN_TRANSITIONS[action];
  if (!(t.from as readonly CampaignState[]).includes(state)) {
    throw new AppError('CAMPAIGN_STATE', `Campaign "${id}" is ${state}: it cannot ${action}`, {
      state,
      action,
    });
  }
  return t.to;
}
