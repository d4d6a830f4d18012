import { z } from 'zod';
import { NOTIFICATION_TYPE_NAMES, requireNotificationType } from '../catalog/catalog.ts';
import { buildTemplateContext } from '../templates/render.ts';
import { text } from '../text.ts';

/**
 * What a notification type's context must hold: every variable its templates print, with the kind
 * of value it is. One definition for both ways in: an event's `data` (events/event-map.ts) and the
 * `context` of POST /api/v1/notifications.
 */

/**
 * The kinds of value a template prints. A blank, null, object or array would print as
 * "order #", "#[object Object]" or "#AB", so each is refused with a 400 naming the field.
 */
const filled = () => text().refine((v) => v.trim() !== '', 'must not be blank');
const KINDS = {
  text: { schema: filled(), doc: 'a non-blank string' },
  count: { schema: z.number().int().min(1), doc: 'a whole number ≥ 1' },
  percent: { schema: z.number().gt(0).max(100), doc: 'a number above 0, at most 100' },
  amount: {
    schema: z.union([filled(), z.number().min(0)], {
      error: 'must be a non-blank string or a number ≥ 0',
    }),
    doc: 'a number ≥ 0 or a non-blank string (as it should print, e.g. "12,840.00")',
  },
} as const;
export type FieldKind = keyof typeof KINDS;
export const FIELD_KIND_DOCS: Readonly<Record<FieldKind, string>> = Object.fromEntries(
  Object.entries(KINDS).map(([kind, { doc }]) => [kind, doc]),
) as Record<FieldKind, string>;

/** The kind of every payload variable the templates use (the catalog's `variables`). */
const FIELD_KINDS: Readonly<Record<string, FieldKind>> = {
  'order.order_number': 'text',
  'order.pickup_date': 'text',
  'order.delivery_date': 'text',
  'order.items_count': 'count',
  'order.partner_name': 'text',
  'order.pickup_area': 'text',
  'payment.amount': 'amount',
  'payment.transaction_id': 'text',
  'refund.amount': 'amount',
  'payout.amount': 'amount',
  'payout.period': 'text',
  'partner.business_name': 'text',
  'promo.code': 'text',
  'promo.discount': 'percent',
  'promo.valid_until': 'text',
};

/** Variables the service fills in from the recipient's record (buildTemplateContext), never from `data`. */
export const RECIPIENT_VARIABLES: ReadonlySet<string> = new Set(
  leafPaths(buildTemplateContext({ firstName: '', lastName: '', email: '', locale: 'en' }, {})),
);

export interface DataField {
  path: string;
  kind: FieldKind;
}

/** The variables a type's templates print that the caller supplies (not the recipient's own). */
export function contextFields(type: string): DataField[] {
  return requireNotificationType(type)
    .variables.filter((path) => !RECIPIENT_VARIABLES.has(path))
    .map((path) => {
      const kind = FIELD_KINDS[path];
      if (!kind) throw new Error(`Template variable ${path} (${type}) has no kind in FIELD_KINDS`);
      return { path, kind };
    });
}

/**
 * `fields` as a schema over nested objects (['order.a', 'order.b'] → { order: { a, b } }); other
 * keys pass through untouched. `present` checks only the values given: a missing one is left to
 * the renderer, whose 422 TEMPLATE_MISSING_VAR names it.
 */
export function contextSchema(
  fields: readonly DataField[],
  { present = false }: { present?: boolean } = {},
): z.ZodType<Record<string, unknown>> {
  interface Node {
    [key: string]: Node | z.ZodType;
  }
  const tree: Node = {};
  for (const { path, kind } of fields) {
    const keys = path.split('.');
    let node = tree;
    for (const key of keys.slice(0, -1)) {
      node[key] ??= {};
      node = node[key] as Node;
    }
    const schema = KINDS[kind].schema;
    node[keys.at(-1)!] = present ? schema.optional() : schema;
  }
  const build = (node: Node): z.ZodType<Record<string, unknown>> => {
    const object = z.looseObject(
      Object.fromEntries(
        Object.entries(node).map(([key, child]) => [key, child instanceof z.ZodType ? child : build(child)]),
      ),
    );
    return present ? (object.optional() as unknown as z.ZodType<Record<string, unknown>>) : object;
  };
  return build(tree);
}

/** Every type's schema of present values, built at load: a variable without a kind fails at start-up. */
const PRESENT_VALUES: ReadonlyMap<string, z.ZodType<Record<string, unknown>>> = new Map(
  NOTIFICATION_TYPE_NAMES.map((type) => [type, contextSchema(contextFields(type), { present: true })]),
);

/**
 * What is wrong with the values a direct notification's `context` gives (blank, null, an object
 * where text prints, a count of 0): each would print as "order #" or "[object Object]". An unknown
 * type has no issues here (createNotification answers it with its own error).
 */
export function contextValueIssues(
  type: string,
  context: Record<string, unknown>,
): Array<{ path: PropertyKey[]; message: string }> {
  const result = PRESENT_VALUES.get(type)?.safeParse(context);
  return !result || result.success
    ? []
    : result.error.issues.map((i) => ({ path: i.path, message: i.message }));
}

function leafPaths(value: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(value).flatMap(([key, child]) =>
    child !== null && typeof child === 'object'
      ? leafPaths(child as Record<string, unknown>, `${prefix}${key}.`)
      : [`${prefix}${key}`],
  );
}
