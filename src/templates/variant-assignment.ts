/**
 * Which A/B variant a user gets (docs/templates.md#ab-variants): a stable hash of the variant group's
 * id and the user's id, as a point in [0, 1), falls in one variant's share of the weights. Pure and
 * sticky: the same user gets the same variant on every send, in every process, for as long as the
 * weights are unchanged. Keyed by the group, not the template, so two tests never split users alike.
 */
import { createHash } from 'node:crypto';

export interface WeightedVariant {
  label: string;
  weight: number;
}

/**
 * The user's point in [0, 1) for a group: the first 48 bits of SHA-256, exact in a double and far
 * finer than any split of weights (at most 10,000 each). SHA-256 rather than a faster hash: it is
 * the same in every runtime and version, and one digest per send is a microsecond.
 */
export function variantBucket(groupId: number, userKey: string): number {
  const digest = createHash('sha256').update(`${groupId}:${userKey}`).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/**
 * The variant whose share of the total weight holds the user's point; undefined when every weight
 * is 0. Shares are laid out in label order, so the order rows come back in cannot move a user.
 */
export function pickVariant<T extends WeightedVariant>(
  groupId: number,
  userKey: string,
  variants: readonly T[],
): T | undefined {
  const ordered = [...variants].sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  const total = ordered.reduce((sum, v) => sum + v.weight, 0);
  if (total === 0) return undefined;
  const point = variantBucket(groupId, userKey) * total;
  let edge = 0;
  // point < total (the bucket is below 1), so some variant with weight > 0 always holds it.
  return ordered.find((v) => {
    edge += v.weight;
    return point < edge;
  });
}
