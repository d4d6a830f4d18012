import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NOTIFICATION_TYPES } from '../../src/catalog/catalog.ts';
import { type DeliveryRules, deliveryRuleProblems, RULE_LIMITS } from '../../src/catalog/delivery-rules.ts';

const type = (rules: DeliveryRules, channels = ['in_app', 'sms', 'push'] as const) => ({
  name: 'order_ready',
  channels,
  variables: ['first_name', 'order.order_number'],
  rules,
});

describe('delivery rules are checked when the catalog loads', () => {
  test('the shipped catalog holds', () => {
    assert.deepEqual(NOTIFICATION_TYPES.flatMap(deliveryRuleProblems), []);
  });

  test('a sound set of rules has no problem', () => {
    const rules: DeliveryRules = {
      escalation: { channels: ['sms'], afterMinutes: 10 },
      fallback: { sms: ['email'] },
      delayMinutes: 120,
      cancelKey: 'order.order_number',
      collapseKey: 'order.order_number',
      throttleMinutes: 60,
    };
    assert.deepEqual(deliveryRuleProblems(type(rules)), []);
  });

  test('each wrong rule is named with its type', () => {
    const cases: Array<[DeliveryRules, RegExp, (readonly ('in_app' | 'sms' | 'email' | 'push')[])?]> = [
      [
        { escalation: { channels: ['email'], afterMinutes: 10 } },
        /escalation names email, a channel the type does not use/,
      ],
      [{ escalation: { channels: ['in_app'], afterMinutes: 10 } }, /cannot hold back in_app/],
      [{ escalation: { channels: ['sms'], afterMinutes: 10 } }, /has no in_app channel/, ['sms', 'email']],
      [{ escalation: { channels: [], afterMinutes: 10 } }, /escalation names no channel/],
      [
        { escalation: { channels: ['sms'], afterMinutes: 0 } },
        /escalation.afterMinutes must be a whole number/,
      ],
      [
        { fallback: { email: ['sms'] } },
        /fallback from email, a channel the type does not use/,
        ['in_app', 'push'],
      ],
      [{ fallback: { sms: ['push'] } }, /which the type already sends on/],
      [{ fallback: { sms: ['sms'] } }, /to itself/],
      [
        { delayMinutes: RULE_LIMITS.delayMinutes + 1 },
        /delayMinutes is 43201 minutes, past the maximum of 43200/,
      ],
      [{ throttleMinutes: 1.5 }, /throttleMinutes must be a whole number/],
      [{ cancelKey: 'order.id' }, /cancelKey "order.id" is not one of the type's variables/],
      [{ collapseKey: 'orderx' }, /collapseKey "orderx" is not one of/],
    ];
    for (const [rules, expected, channels] of cases) {
      const problems = deliveryRuleProblems(type(rules, channels as never));
      assert.equal(problems.length, 1, `${JSON.stringify(rules)}: ${problems.join(' | ')}`);
      assert.match(problems[0]!, /^notification type "order_ready": /);
      assert.match(problems[0]!, expected);
    }
  });
});
