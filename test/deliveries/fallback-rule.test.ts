import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NOTIFICATION_TYPES } from '../../src/catalog/catalog.ts';
import { failedForGood, fallbackScope, nextFallbackChannel } from '../../src/deliveries/fallback-rule.ts';
import { loadTemplateFiles } from '../../src/templates/template-files.ts';

test('a fallback follows permanent failures of the catalogue, not retryable, doubtful or opted-out ones', () => {
  for (const [channel, code] of [
    ['sms', '21211'],
    ['sms', '30005'],
    ['sms', 'VONAGE_DLR_3'],
    ['email', 'EMAIL_BOUNCED'],
    ['push', 'PUSH_SUBSCRIPTION_GONE'],
  ] as const) {
    assert.equal(failedForGood(channel, code), true, `${channel} ${code}`);
  }
  for (const [channel, code] of [
    ['sms', '30003'],
    ['sms', '20429'],
    ['sms', 'NOT_SENT'],
    ['sms', 'LOOKUP_FAILED'],
    ['sms', 'LEASE_EXPIRED'],
    ['sms', '21610'],
    ['email', 'EMAIL_DEFERRED'],
    ['push', 'PUSH_SERVICE_ERROR'],
    ['sms', null],
  ] as const) {
    assert.equal(failedForGood(channel, code), false, `${channel} ${code}`);
  }
});

test('the next channel: the failed channel’s list, then on down the list, never one already there', () => {
  const rules = { sms: ['email', 'push'] } as const;
  assert.equal(nextFallbackChannel(rules, 'sms', ['in_app', 'sms']), 'email');
  assert.equal(nextFallbackChannel(rules, 'email', ['in_app', 'sms', 'email']), 'push');
  assert.equal(nextFallbackChannel(rules, 'sms', ['in_app', 'sms', 'email']), 'push');
  assert.equal(nextFallbackChannel(rules, 'push', ['in_app', 'sms', 'email', 'push']), undefined);
  assert.equal(nextFallbackChannel(rules, 'in_app', ['in_app']), undefined);
  assert.equal(nextFallbackChannel(undefined, 'sms', []), undefined);
});

test('every fallback target has its templates for the type in every locale', () => {
  const { types } = fallbackScope(NOTIFICATION_TYPES);
  assert.ok(types.length > 0, 'some type has a fallback rule');
  const sets = loadTemplateFiles();
  const FIELDS = { sms: ['sms'], email: ['email_subject', 'email_text'], push: ['push_title'], in_app: [] };
  for (const def of NOTIFICATION_TYPES.filter((d) => types.includes(d.name))) {
    for (const target of Object.values(def.rules!.fallback!).flat()) {
      const locales = sets.filter((s) => s.type === def.name);
      assert.ok(locales.length > 0, def.name);
      for (const set of locales) {
        for (const field of FIELDS[target])
          assert.ok(set.fields[field as 'sms'], `${def.name} ${set.locale} ${field}`);
      }
    }
  }
});
