import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { retentionOn, retentionSettings } from '../../src/retention/retention-job.ts';

test('retention is off by default; a window is 0 or at least 3 days; inbound SMS follow unless set', () => {
  const off = retentionSettings(loadConfig({}));
  assert.equal(retentionOn(off), false);
  assert.deepEqual(off, { windows: { notifications: 0, inboundSms: 0 }, batchSize: 1000, pauseMs: 250 });
  assert.throws(() => loadConfig({ RETENTION_DAYS: '2' }), ConfigError);
  const on = retentionSettings(loadConfig({ RETENTION_DAYS: '90' }));
  assert.equal(retentionOn(on), true);
  assert.deepEqual(on.windows, { notifications: 90, inboundSms: 90 });
  const shorter = retentionSettings(loadConfig({ RETENTION_DAYS: '90', RETENTION_INBOUND_SMS_DAYS: '7' }));
  assert.deepEqual(shorter.windows, { notifications: 90, inboundSms: 7 });
  // Only inbound SMS: the job still runs, for them alone.
  assert.equal(retentionOn(retentionSettings(loadConfig({ RETENTION_INBOUND_SMS_DAYS: '30' }))), true);
});
