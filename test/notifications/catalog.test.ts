import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CATEGORIES,
  CHANNELS,
  getNotificationType,
  NOTIFICATION_TYPE_NAMES,
  NOTIFICATION_TYPES,
  PRIORITIES,
  requireNotificationType,
} from '../../src/catalog/catalog.ts';
import { AppError } from '../../src/errors.ts';

// The seed guide's "SMS Notification Types" section, names verbatim.
const SEED_PRIORITIES: Record<string, string> = {
  order_confirmed: 'critical',
  order_out_for_delivery: 'critical',
  order_delivered: 'critical',
  payment_completed: 'critical',
  refund_completed: 'critical',
  order_created: 'regular',
  order_picked_up: 'regular',
  order_ready: 'regular',
  payment_initiated: 'regular',
  refund_requested: 'regular',
};
const SEED_ACCOUNT_AND_PARTNER = ['welcome', 'account_verified', 'partner_approved', 'new_order_assigned'];

function valueAt(context: Record<string, unknown>, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], context);
}

describe('notification catalog', () => {
  test("the seed's critical and regular types exist with the seed's priorities", () => {
    for (const [name, priority] of Object.entries(SEED_PRIORITIES)) {
      assert.equal(getNotificationType(name)?.priority, priority, name);
    }
  });

  test("the seed's account and partner types exist under those categories", () => {
    for (const name of SEED_ACCOUNT_AND_PARTNER) {
      const def = getNotificationType(name);
      assert.ok(def, name);
      assert.ok(['account', 'partner'].includes(def.category), name);
    }
  });

  test('holds at least 22 uniquely named snake_case types', () => {
    assert.ok(NOTIFICATION_TYPES.length >= 22, `only ${NOTIFICATION_TYPES.length} types`);
    assert.equal(new Set(NOTIFICATION_TYPE_NAMES).size, NOTIFICATION_TYPE_NAMES.length);
    assert.deepEqual(
      NOTIFICATION_TYPE_NAMES,
      NOTIFICATION_TYPES.map((def) => def.name),
    );
    for (const name of NOTIFICATION_TYPE_NAMES) assert.match(name, /^[a-z]+(_[a-z]+)*$/);
  });

  test('every type has a known category, priority, recipient and channels that include in_app', () => {
    for (const def of NOTIFICATION_TYPES) {
      assert.ok(CATEGORIES.includes(def.category), def.name);
      assert.ok(PRIORITIES.includes(def.priority), def.name);
      assert.ok(['customer', 'partner', 'any'].includes(def.recipient), def.name);
      assert.ok(def.channels.includes('in_app'), def.name);
      for (const channel of def.channels) assert.ok(CHANNELS.includes(channel), `${def.name}: ${channel}`);
      assert.ok(def.description.length > 0, def.name);
    }
  });

  test('critical types reach the user on every channel, at once or as a fallback (a message about one channel goes by that channel)', () => {
    for (const def of NOTIFICATION_TYPES.filter((d) => d.priority === 'critical' && !d.gatedBy)) {
      const fallbacks = Object.values(def.rules?.fallback ?? {}).flat();
      assert.deepEqual([...new Set([...def.channels, ...fallbacks])].sort(), [...CHANNELS].sort(), def.name);
    }
  });

  test('categories follow the type names (order_*, payment_*/refund_*, partner)', () => {
    for (const def of NOTIFICATION_TYPES) {
      if (def.name.startsWith('order_')) assert.equal(def.category, 'order_updates', def.name);
      if (/^(payment|refund)_/.test(def.name)) assert.equal(def.category, 'payment_updates', def.name);
      if (def.name.startsWith('partner_')) assert.equal(def.category, 'partner', def.name);
    }
    assert.equal(getNotificationType('new_order_assigned')?.category, 'partner');
    assert.equal(getNotificationType('payout_completed')?.category, 'partner');
  });

  test('promotional types are digest priority and never cost an SMS', () => {
    const promotions = NOTIFICATION_TYPES.filter((def) => def.category === 'promotions');
    assert.ok(promotions.length >= 2);
    for (const def of promotions) {
      assert.equal(def.priority, 'digest', def.name);
      assert.ok(!def.channels.includes('sms'), def.name);
    }
  });

  test('every declared variable has a value in the sample context, and samples greet by first name', () => {
    for (const def of NOTIFICATION_TYPES) {
      assert.equal(typeof def.sampleContext.first_name, 'string', def.name);
      for (const path of def.variables) {
        const value = valueAt(def.sampleContext, path);
        assert.ok(
          typeof value === 'string' || typeof value === 'number',
          `${def.name}: ${path} is ${String(value)}`,
        );
      }
    }
  });

  test('the catalog cannot be changed by a caller', () => {
    const def = requireNotificationType('order_confirmed');
    assert.throws(() => {
      (def as { priority: string }).priority = 'digest';
    }, TypeError);
    const order = def.sampleContext.order as Record<string, unknown>;
    assert.throws(() => {
      order.order_number = 'HACKED';
    }, TypeError);
  });

  test('an unknown type is undefined from get and a 422 listing the valid names from require', () => {
    assert.equal(getNotificationType('order_teleported'), undefined);
    assert.throws(
      () => requireNotificationType('order_teleported'),
      (err: unknown) =>
        err instanceof AppError &&
        err.code === 'UNKNOWN_NOTIFICATION_TYPE' &&
        err.status === 422 &&
        err.message.includes('order_teleported') &&
        err.details?.accepted === NOTIFICATION_TYPE_NAMES,
    );
  });
});
