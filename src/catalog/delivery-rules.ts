/**
 * Delivery rules per notification type (issue 18): declared in the catalog next to the type's
 * channels, checked when the catalog loads (so a wrong rule stops every process at start-up with
 * a message naming the type and the rule), listed in docs/templates.md, and applied by the
 * delivery core through its state machine. The model is Knock's and Novu's workflow steps (delay,
 * branch on seen, throttle, digest) reduced to the ones a marketplace's order messages need.
 */
import type { ChannelName } from './catalog.ts';

export interface EscalationRule {
  /** Held back until `afterMinutes` past the send time, and sent only if the in-app message is unread. */
  channels: readonly ChannelName[];
  afterMinutes: number;
}

export interface DeliveryRules {
  /** Cost saver: in-app (and push) first; these channels only if the in-app message is still unread. */
  escalation?: EscalationRule;
  /** When a channel fails for good, send once on the next channel of its list (not one the type already uses). */
  fallback?: Partial<Record<ChannelName, readonly ChannelName[]>>;
  /** Sent this long after the trigger, e.g. a review request 2 h after the delivery. */
  delayMinutes?: number;
  /** A context path (one of the type's variables) whose value cancels its pending notifications. */
  cancelKey?: string;
  /** A context path: a newer notification with the same value supersedes one still queued. */
  collapseKey?: string;
  /** At most one of this type per user per window; the rest are skipped, saying why. */
  throttleMinutes?: number;
}

/** Sane maxima: a rule past them is a typo (minutes for hours), not a plan. */
export const RULE_LIMITS = {
  escalationMinutes: 24 * 60,
  delayMinutes: 30 * 24 * 60,
  throttleMinutes: 7 * 24 * 60,
} as const;

/** The part of a type a rule is checked against. */
export interface RuledType {
  name: string;
  channels: readonly ChannelName[];
  variables: readonly string[];
  rules?: DeliveryRules;
}

/**
 * Every problem of a type's rules, as sentences naming the type; empty when they hold. The
 * catalog throws on the first type that has any (see catalog.ts), so it is checked once, at load.
 */
export function deliveryRuleProblems(type: RuledType): string[] {
  const rules = type.rules;
  if (!rules) return [];
  const problems: string[] = [];
  const say = (text: string) => problems.push(`notification type "${type.name}": ${text}`);
  const uses = (c: ChannelName) => type.channels.includes(c);
  const minutes = (rule: string, value: number | undefined, max: number) => {
    if (value === undefined) return;
    if (!Number.isInteger(value) || value < 1)
      say(`${rule} must be a whole number of minutes ≥ 1 (got ${value})`);
    else if (value > max) say(`${rule} is ${value} minutes, past the maximum of ${max}`);
  };

  if (rules.escalation) {
    const { channels, afterMinutes } = rules.escalation;
    if (!uses('in_app'))
      say('escalation waits for the in-app message to be read, but the type has no in_app channel');
    if (channels.length === 0) say('escalation names no channel');
    for (const c of channels) {
      if (c === 'in_app') say('escalation cannot hold back in_app: it is the message the rule waits on');
      else if (!uses(c)) say(`escalation names ${c}, a channel the type does not use`);
    }
    minutes('escalation.afterMinutes', afterMinutes, RULE_LIMITS.escalationMinutes);
  }
  for (const [from, targets] of Object.entries(rules.fallback ?? {}) as [
    ChannelName,
    readonly ChannelName[],
  ][]) {
    if (!uses(from)) say(`fallback from ${from}, a channel the type does not use`);
    if (targets.length === 0) say(`fallback from ${from} names no channel`);
    for (const to of targets) {
      if (to === from) say(`fallback from ${from} to itself`);
      else if (uses(to))
        say(`fallback from ${from} to ${to}, which the type already sends on (it would go twice)`);
    }
  }
  minutes('delayMinutes', rules.delayMinutes, RULE_LIMITS.delayMinutes);
  minutes('throttleMinutes', rules.throttleMinutes, RULE_LIMITS.throttleMinutes);
  for (const [rule, path] of [
    ['cancelKey', rules.cancelKey],
    ['collapseKey', rules.collapseKey],
  ] as const) {
    if (path !== undefined && !type.variables.includes(path)) {
      say(`${rule} "${path}" is not one of the type's variables (${type.variables.join(', ')})`);
    }
  }
  return problems;
}

/** One line per rule, for docs/templates.md and the console. */
export function describeDeliveryRules(rules: DeliveryRules | undefined): string[] {
  if (!rules) return [];
  const out: string[] = [];
  if (rules.escalation) {
    out.push(
      `escalation: ${rules.escalation.channels.join(', ')} only if the in-app message is unread after ${rules.escalation.afterMinutes} min`,
    );
  }
  for (const [from, targets] of Object.entries(rules.fallback ?? {})) {
    out.push(`fallback: ${from} → ${(targets ?? []).join(' → ')} when ${from} fails for good`);
  }
  if (rules.delayMinutes) out.push(`delay: sent ${rules.delayMinutes} min after the trigger`);
  if (rules.cancelKey) out.push(`cancel key: \`${rules.cancelKey}\``);
  if (rules.collapseKey)
    out.push(`collapse key: \`${rules.collapseKey}\` (a newer one supersedes one still queued)`);
  if (rules.throttleMinutes) out.push(`throttle: at most one per user per ${rules.throttleMinutes} min`);
  return out;
}
