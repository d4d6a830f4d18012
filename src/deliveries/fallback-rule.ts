import type { ChannelName } from '../catalog/catalog.ts';
import type { DeliveryRules } from '../catalog/delivery-rules.ts';
import { describeDeliveryError } from '../channels/delivery-error-info.ts';
import { classifyTwilioError } from '../channels/sms/twilio-errors.ts';

/**
 * When a failed delivery earns a fallback (issue 18, rule 2), as pure functions of its channel and
 * error code: the error catalogue's class decides (delivery-error-info.ts reaches every provider's
 * table), so "permanent" means what the rest of the service means by it.
 */

/**
 * Failed for good on the recipient's side of this channel: the catalogue's class is `permanent`
 * (Twilio 21211 invalid number, 30005 unknown handset, a bounced email, a push subscription gone,
 * a composing error). Not a fallback:
 * - a retryable failure, even with its budget spent (30003 unreachable handset after every retry):
 *   the channel may work later, and a provider outage would otherwise turn every SMS of it into
 *   an email;
 * - NOT_SENT (permanent in the catalogue): every attempt ended in doubt, an outage, not an address;
 * - Twilio 21610, the user replied STOP: their own choice for SMS, which a `disabled_by_user` skip
 *   honours without a fallback too;
 * - no code at all (nothing says why).
 */
export function failedForGood(channel: ChannelName, errorCode: string | null): boolean {
  if (!errorCode || errorCode === 'NOT_SENT') return false;
  if (channel === 'sms' && /^\d+$/.test(errorCode) && classifyTwilioError(Number(errorCode)) === 'opted_out')
    return false;
  return describeDeliveryError(channel, errorCode).class === 'permanent';
}

/**
 * The channel a failed `failed` delivery falls back to: the first of its list not already on the
 * notification. The list is the one keyed by the failed channel; a fallback delivery that fails in
 * its turn (its channel is in a list, never a key: targets are channels the type does not use)
 * goes on to the channel after it in that list. Undefined: nothing left to try.
 */
export function nextFallbackChannel(
  fallback: DeliveryRules['fallback'],
  failed: ChannelName,
  present: readonly string[],
): ChannelName | undefined {
  const lists = Object.values(fallback ?? {}) as ChannelName[][];
  const rest = fallback?.[failed]
    ? [...fallback[failed]]
    : lists.flatMap((list) => (list.includes(failed) ? list.slice(list.indexOf(failed) + 1) : []));
  return rest.find((c) => !present.includes(c));
}

/** The types with a fallback rule and every channel their rules name (the pass reads only these). */
export function fallbackScope(types: readonly { name: string; rules?: DeliveryRules | undefined }[]): {
  types: string[];
  channels: ChannelName[];
} {
  const ruled = types.filter((t) => Object.keys(t.rules?.fallback ?? {}).length > 0);
  const channels = new Set<ChannelName>();
  for (const t of ruled) {
    for (const [from, to] of Object.entries(t.rules!.fallback!) as [ChannelName, ChannelName[]][]) {
      channels.add(from);
      for (const c of to) channels.add(c);
    }
  }
  return { types: ruled.map((t) => t.name), channels: [...channels] };
}
