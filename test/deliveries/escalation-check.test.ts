import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Channel, DeliveryJob, SendResult } from '../../src/channels/channel.ts';
import { TestClock } from '../../src/clock.ts';
import type { Queryable } from '../../src/db/database.ts';
import { attemptEscalated } from '../../src/deliveries/escalation-check.ts';
import type { RetryPolicy } from '../../src/deliveries/retry-policy.ts';
import { silentLogger } from '../helpers/test-db.ts';

// The send-time check's edges, without a database: the read (or its failure) is scripted. The
// paths through a real database, sandbox and worker are in test/sms-flow/escalation.test.ts.
const policy: RetryPolicy = { maxAttempts: 4, maxLookups: 2, baseDelayMs: 1000, factor: 1, maxDelayMs: 1000 };
const READ_AT = new Date('2026-12-01T10:05:00Z');
const signal = new AbortController().signal;

const job = (attempt: number, outcomeUnknown: boolean): DeliveryJob =>
  ({
    deliveryId: '7',
    notificationId: 'ntf_x',
    channel: 'sms',
    attempt,
    outcomeUnknown,
    escalation: { waits_for: 'in_app_read', until: '2026-12-01T10:10:00.000Z' },
  }) as DeliveryJob;

/** A database whose one read answers `readAt`, or throws. */
function reads(readAt: Date | null | Error) {
  const asked = { n: 0 };
  const db = {
    select: () => ({
      from: () => ({
        where: async () => {
          asked.n++;
          if (readAt instanceof Error) throw readAt;
          return [{ readAt }];
        },
      }),
    }),
  } as unknown as Queryable;
  return { db, asked };
}

function channel(lookup?: () => Promise<SendResult | null>) {
  const calls = { send: 0, lookup: 0 };
  const c: Channel = {
    name: 'sms',
    send: async () => {
      calls.send++;
      return { kind: 'sent', providerMessageId: 'SM1' };
    },
    ...(lookup
      ? {
          lookup: async () => {
            calls.lookup++;
            return lookup();
          },
        }
      : {}),
  };
  return { c, calls };
}

const deps = (db: Queryable) => ({ db, clock: new TestClock(), logger: silentLogger });

test('the read cannot be checked: not sent, retried, and an earlier doubt is kept', async () => {
  for (const unknown of [false, true]) {
    const { db } = reads(new Error('connection lost'));
    const { c, calls } = channel(async () => null);
    const result = await attemptEscalated(deps(db), c, job(2, unknown), policy, signal);
    assert.deepEqual(
      { kind: result.kind, code: 'code' in result ? result.code : null },
      { kind: 'retryable', code: 'ESCALATION_CHECK_FAILED' },
    );
    assert.equal((result as { outcomeUnknown?: boolean }).outcomeUnknown, unknown);
    assert.deepEqual(calls, { send: 0, lookup: 0 });
  }
});

test('read, after an attempt in doubt, on a channel that cannot be asked: skipped, saying so', async () => {
  const { c, calls } = channel();
  const result = await attemptEscalated(deps(reads(READ_AT).db), c, job(2, true), policy, signal);
  assert.equal(result.kind, 'skipped');
  assert.match(
    (result as { detail: string }).detail,
    /^read in app at 2026-12-01T10:05:00.000Z; sms not sent by this attempt \(an earlier one's outcome is unknown/,
  );
  assert.equal(calls.send, 0);
});

test('read, after an attempt in doubt, and the provider cannot be asked: still in doubt, retried', async () => {
  const { c, calls } = channel(async () => {
    throw new Error('provider down');
  });
  const result = await attemptEscalated(deps(reads(READ_AT).db), c, job(2, true), policy, signal);
  assert.equal(result.kind, 'retryable');
  assert.equal((result as { code: string }).code, 'LOOKUP_FAILED');
  assert.equal((result as { outcomeUnknown?: boolean }).outcomeUnknown, true);
  assert.deepEqual(calls, { send: 0, lookup: 1 });
});

test('a lookup-only attempt (budget spent) only asks the provider: no check, no send', async () => {
  const { db, asked } = reads(READ_AT);
  const { c, calls } = channel(async () => null);
  const result = await attemptEscalated(deps(db), c, job(5, true), policy, signal);
  assert.equal(result.kind, 'permanent'); // NOT_SENT, as for any lookup that finds nothing
  assert.equal(asked.n, 0);
  assert.deepEqual(calls, { send: 0, lookup: 1 });
});
