import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Liquid } from 'liquidjs';
import { requireNotificationType } from '../../src/catalog/catalog.ts';
import { EVENT_ROUTES, eventDataIssues } from '../../src/events/event-map.ts';
import { RECIPIENT_VARIABLES } from '../../src/notifications/context-schema.ts';
import { loadTemplateFiles, TEMPLATE_FIELDS } from '../../src/templates/template-files.ts';

const liquid = new Liquid();

/** Every payload variable the type's templates print, in any locale and field. */
function templateVariables(type: string): Set<string> {
  const used = new Set<string>();
  for (const set of loadTemplateFiles().filter((s) => s.type === type)) {
    for (const field of TEMPLATE_FIELDS) {
      const source = set.fields[field];
      if (source) for (const v of liquid.globalFullVariablesSync(source)) used.add(v);
    }
  }
  return new Set([...used].filter((v) => !RECIPIENT_VARIABLES.has(v)));
}

describe('event table', () => {
  test("each event's data schema requires exactly what its templates print", () => {
    for (const [key, route] of Object.entries(EVENT_ROUTES)) {
      assert.deepEqual(
        route.fields.map((f) => f.path).sort(),
        [...templateVariables(route.type)].sort(),
        `${key} → ${route.type}`,
      );
    }
  });

  test("the catalog's sample context satisfies each event's schema", () => {
    for (const [key, route] of Object.entries(EVENT_ROUTES)) {
      const [type, status] = key.split(':');
      const data = { ...requireNotificationType(route.type).sampleContext, status };
      assert.deepEqual(eventDataIssues(type!, data), [], key);
    }
  });

  test('an amount may be a number or the string it should print; a count must be a number', () => {
    const sample = requireNotificationType('payment_completed').sampleContext as { payment: object };
    for (const amount of [449, 0, '449.00'])
      assert.deepEqual(
        eventDataIssues('payment.completed', { ...sample, payment: { ...sample.payment, amount } }),
        [],
      );
    for (const amount of [-1, ' ', null, true])
      assert.equal(
        eventDataIssues('payment.completed', { ...sample, payment: { ...sample.payment, amount } }).length,
        1,
        String(amount),
      );
  });
});
