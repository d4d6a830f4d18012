import type { ChannelName } from '../catalog/catalog.ts';
import { type SkipReason, skipMessage } from '../channels/delivery-errors.ts';
import { validatePhone } from '../channels/sms/phone.ts';
import { isChannelEnabled, type PreferenceMap, preferenceKey } from '../preferences/preference-map.ts';

export type ChannelDecision =
  | { channel: ChannelName; status: 'queued' }
  | { channel: ChannelName; status: 'skipped'; reason: SkipReason; message: string };

export interface EligibilityInput {
  channels: readonly ChannelName[];
  category: string;
  user: { email: string | null; phone: string | null };
  prefs: PreferenceMap;
  /** The user subscribed at least one browser to Web Push. */
  hasPushSubscription?: boolean;
  /** Channels this service can deliver on (configured and running). */
  available: ReadonlySet<ChannelName>;
  /** The user reached a daily or monthly SMS cap (preferences/sms-caps.ts). */
  smsCapReached?: boolean;
}

const CHANNEL_LABEL: Record<ChannelName, string> = {
  sms: 'SMS',
  email: 'email',
  in_app: 'in-app',
  push: 'push',
};

/**
 * Which channels of a notification get a delivery, decided once at creation (pure). A channel that
 * is not allowed still gets a row, as `skipped` with a stable reason, so "why didn't I get an SMS?"
 * is answered by the data (reasons: channels/delivery-errors.ts).
 */
export function decideChannels(input: EligibilityInput): ChannelDecision[] {
  return input.channels.map((channel) => {
    const skip = (reason: SkipReason): ChannelDecision => ({
      channel,
      status: 'skipped',
      reason,
      message: skipMessage(reason, { channel: CHANNEL_LABEL[channel], email: input.user.email ?? undefined }),
    });
    const enabled = isChannelEnabled(input.prefs, input.category, channel);
    if (channel === 'sms') {
      // The seed's order of checks: configured, has a phone, opted in, phone well-formed.
      if (!input.available.has('sms')) return skip('sms_not_configured');
      if (!input.user.phone) return skip('no_phone');
      if (!enabled) return skip('disabled_by_user');
      if (!validatePhone(input.user.phone).ok) return skip('invalid_phone');
      if (input.smsCapReached) return skip('cap_reached');
      return { channel, status: 'queued' };
    }
    if (!input.available.has(channel)) return skip('channel_unavailable');
    if (channel === 'push') {
      // Off by default like SMS (preferences.ts), but a subscribed browser turns it on unless the
      // user explicitly turned push off for this category.
      const choice = input.prefs.get(preferenceKey(input.category, 'push'));
      if (choice === false || (choice === undefined && !input.hasPushSubscription)) {
        return skip('disabled_by_user');
      }
      return input.hasPushSubscription ? { channel, status: 'queued' } : skip('no_push_subscription');
    }
    if (!enabled) return skip('disabled_by_user');
    if (channel === 'email' && !input.user.email) return skip('no_email');
    return { channel, status: 'queued' };
  });
}
