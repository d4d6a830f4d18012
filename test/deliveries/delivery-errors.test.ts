import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { describeDeliveryError } from '../../src/channels/delivery-error-info.ts';
import { DELIVERY_ERRORS, SKIP_REASONS, skipMessage } from '../../src/channels/delivery-errors.ts';
import { classifySmtpError } from '../../src/channels/email/smtp-errors.ts';
import { classifyPushStatus } from '../../src/channels/push/push-errors.ts';
import { ERRORS, type ErrorCode } from '../../src/errors.ts';
import { decideChannels } from '../../src/notifications/eligibility.ts';

const SRC = new URL('../../src/', import.meta.url);
/** Where deliveries get their error codes and skip reasons (channels, worker, queue, provider statuses, digest, opt-out). */
const WRITERS = ['channels', 'deliveries', 'tracking', 'digest', 'notifications', 'preferences'];
/** The catalogue itself, and the webhook signature check (its codes refuse a request, not a delivery). */
const NOT_WRITERS = new Set(['channels/delivery-errors.ts', 'channels/sms/twilio-signature.ts']);

function sources(dirs: string[]): { path: string; text: string }[] {
  return dirs.flatMap((dir) =>
    readdirSync(new URL(dir, SRC), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => `${dir}/${f}`)
      .filter((path) => !NOT_WRITERS.has(path))
      .map((path) => ({ path, text: readFileSync(new URL(path, SRC), 'utf8') })),
  );
}

const matches = (text: string, re: RegExp, group = 1) => [...text.matchAll(re)].map((m) => m[group]!);
const quotedCodes = (expr: string) => matches(expr, /'([A-Z][A-Z0-9_]+)'/g);

/**
 * Every code literal written as a delivery error: `code: …` / `code = …` / `errorCode: …` in a
 * send result, the uppercase literals of SQL (the reaper's `'LEASE_EXPIRED'`, the schema dump's
 * functions) and the API errors raised while composing a message (`new AppError('…')`).
 */
function writtenErrorCodes(): Map<string, string> {
  const found = new Map<string, string>();
  const add = (code: string, path: string) => found.set(code, found.get(code) ?? path);
  for (const { path, text } of sources(WRITERS)) {
    // An assignment, not a comparison (`err.code === 'EABORT'` reads a library's code).
    for (const expr of matches(
      text,
      /(?<![.\w])(?:code|errorCode|error_code)\b\s*(?::|=(?!=))\s*([^,;\n}]+)/g,
    )) {
      for (const code of quotedCodes(expr)) add(code, path);
    }
    for (const block of matches(text, /\bsql`([^`]*)`/g))
      for (const code of quotedCodes(block)) add(code, path);
  }
  // A trigger function's `TG_OP <> 'INSERT'` names the operation that fired it, not an error.
  const schema = readFileSync(new URL('db/schema.sql', SRC), 'utf8').replace(
    /\bTG_OP\s*(?:<>|!=|=)\s*'[A-Z]+'/g,
    '',
  );
  for (const code of quotedCodes(schema)) add(code, 'db/schema.sql');
  for (const { path, text } of sources(['channels', 'templates'])) {
    for (const code of matches(text, /new AppError\(\s*'([A-Z_]+)'/g)) {
      // The render pool's refusals (5xx: queue full, closing) are thrown on by the channels
      // (isMessageFault) and retried; they are never a delivery's error code.
      if (path.startsWith('templates/') && ERRORS[code as ErrorCode].status >= 500) continue;
      add(code, path);
    }
  }
  return found;
}

/** Every skip reason written: a send result's `reason`, `skipReason`, SQL `skip_reason = '…'`, `skip('…')`. */
function writtenSkipReasons(): Map<string, string> {
  const found = new Map<string, string>();
  for (const { path, text } of sources(WRITERS)) {
    const res = [
      /\b(?:reason|skipReason|skip_reason)\b\s*(?::|=)\s*'([a-z_]+)'/g,
      /\b(?:skip|skipMessage)\('([a-z_]+)'/g,
    ];
    for (const re of res)
      for (const reason of matches(text, re)) found.set(reason, found.get(reason) ?? path);
  }
  return found;
}

describe('delivery-error catalogue', () => {
  test('every error code the code writes to a delivery is catalogued, and every catalogued one is written', () => {
    const written = writtenErrorCodes();
    // The scan must see the codes it is meant to find, or it proves nothing.
    for (const code of [
      'NETWORK',
      'TIMEOUT',
      'CHANNEL_ERROR',
      'NOT_SENT',
      'LOOKUP_FAILED',
      'LEASE_EXPIRED',
    ]) {
      assert.ok(written.has(code), `the scan finds ${code}`);
    }
    const uncatalogued = [...written].filter(([code]) => !Object.hasOwn(DELIVERY_ERRORS, code));
    assert.deepEqual(uncatalogued, [], 'codes written but not in src/channels/delivery-errors.ts');
    const unwritten = Object.keys(DELIVERY_ERRORS).filter((code) => !written.has(code));
    assert.deepEqual(unwritten, [], 'catalogued codes nothing writes');
  });

  test('every skip reason written is catalogued, and every catalogued one is written', () => {
    const written = writtenSkipReasons();
    for (const reason of ['digested', 'disabled_by_user', 'no_phone', 'no_email', 'cap_reached']) {
      assert.ok(written.has(reason), `the scan finds ${reason}`);
    }
    const uncatalogued = [...written].filter(([reason]) => !Object.hasOwn(SKIP_REASONS, reason));
    assert.deepEqual(uncatalogued, []);
    assert.deepEqual(
      Object.keys(SKIP_REASONS).filter((reason) => !written.has(reason)),
      [],
    );
  });

  test('skip messages keep their text, at creation and from the channels', () => {
    const [sms, email] = decideChannels({
      channels: ['sms', 'email'],
      category: 'order_updates',
      user: { email: null, phone: null },
      prefs: new Map(),
      available: new Set(['sms', 'email']),
    });
    assert.deepEqual(sms, {
      channel: 'sms',
      status: 'skipped',
      reason: 'no_phone',
      message: 'User (no email) has no phone number. Skipping SMS.',
    });
    assert.equal(email?.status, 'skipped');
    assert.equal(
      skipMessage('no_phone', { email: 'a@b.c' }),
      'User a@b.c has no phone number. Skipping SMS.',
    );
    assert.equal(skipMessage('disabled_by_user', { channel: 'SMS' }), 'User has disabled SMS notifications');
    assert.equal(
      skipMessage('invalid_phone'),
      'Invalid phone number format. Must start with + and country code.',
    );
  });

  test("the email codes' classes agree with the SMTP classification", () => {
    for (let reply = 400; reply < 600; reply++) {
      for (const command of ['RCPT TO', 'MAIL FROM']) {
        const failure = classifySmtpError({ responseCode: reply, command });
        assert.equal(DELIVERY_ERRORS[failure.code].class, failure.kind, `${reply} to ${command}`);
      }
    }
    for (const code of ['ECONNREFUSED', 'EAUTH', 'EENVELOPE', 'EWHATEVER']) {
      const failure = classifySmtpError({ code });
      assert.equal(DELIVERY_ERRORS[failure.code].class, failure.kind, code);
    }
  });

  test("the push codes' classes agree with the push classification", () => {
    for (let status = 300; status < 600; status++) {
      const outcome = classifyPushStatus(status);
      if (outcome.kind === 'accepted') continue;
      const expected = outcome.kind === 'gone' ? 'permanent' : outcome.kind;
      assert.equal(DELIVERY_ERRORS[outcome.code].class, expected, String(status));
    }
  });
});

describe('describeDeliveryError', () => {
  test('service codes and skip reasons: class, meaning, fix and their docs anchor', () => {
    const network = describeDeliveryError('sms', 'NETWORK');
    assert.equal(network.class, 'unknown_outcome');
    assert.equal(network.docs, 'docs/errors.md#delivery-error-network');
    assert.equal(network.known, true);
    assert.match(network.meaning, /no Twilio error code/);
    assert.equal(describeDeliveryError('sms', 'SEND_RATE_LIMITED').class, 'retryable');
    assert.equal(
      describeDeliveryError('email', 'LEASE_EXPIRED').docs,
      'docs/errors.md#delivery-error-lease-expired',
    );
    const skip = describeDeliveryError('sms', 'no_phone');
    assert.equal(skip.class, 'skip');
    assert.equal(skip.docs, 'docs/errors.md#skip-reason-no-phone');
    const template = describeDeliveryError('email', 'TEMPLATE_MISSING_VAR');
    assert.equal(template.class, 'permanent');
    assert.match(template.fix, /variable/);
  });

  test("Twilio codes come from the SMS channel's table, with Twilio's page", () => {
    const unreachable = describeDeliveryError('sms', '30003');
    assert.deepEqual(
      { class: unreachable.class, known: unreachable.known, docs: unreachable.docs },
      { class: 'retryable', known: true, docs: 'https://www.twilio.com/docs/api/errors/30003' },
    );
    assert.match(unreachable.meaning, /Unreachable handset/);
    const optedOut = describeDeliveryError('sms', '21610');
    assert.equal(optedOut.class, 'permanent');
    assert.match(optedOut.fix, /START/);
    assert.equal(describeDeliveryError('sms', '30007').class, 'permanent');
    const unknown = describeDeliveryError('sms', '39999');
    assert.equal(unknown.known, false);
    assert.match(unknown.meaning, /Twilio error 39999/);
  });

  test('SMTP replies map to the email code they record', () => {
    const bounce = describeDeliveryError('email', '550');
    assert.equal(bounce.class, 'permanent');
    assert.match(bounce.meaning, /^SMTP reply 550: mailbox unavailable.*Recorded as EMAIL_BOUNCED/);
    assert.equal(bounce.docs, 'docs/errors.md#delivery-error-email-bounced');
    const deferred = describeDeliveryError('email', '421');
    assert.equal(deferred.class, 'retryable');
    assert.match(deferred.meaning, /EMAIL_DEFERRED/);
    assert.equal(describeDeliveryError('email', '554').docs, 'docs/errors.md#delivery-error-email-rejected');
    assert.equal(describeDeliveryError('email', '250').known, false);
  });

  test('push HTTP statuses map to the push code they record', () => {
    const gone = describeDeliveryError('push', '410');
    assert.equal(gone.class, 'permanent');
    assert.match(gone.meaning, /HTTP 410.*PUSH_SUBSCRIPTION_GONE/);
    assert.equal(describeDeliveryError('push', '429').class, 'retryable');
    assert.equal(
      describeDeliveryError('push', '503').docs,
      'docs/errors.md#delivery-error-push-service-error',
    );
  });

  test('an API error code points to its row on /errors; an unknown code says so', () => {
    const api = describeDeliveryError('sms', 'USER_NOT_FOUND');
    assert.equal(api.docs, '/errors#user-not-found');
    const unknown = describeDeliveryError('in_app', 'SOMETHING_NEW');
    assert.equal(unknown.known, false);
    assert.equal(unknown.docs, 'docs/errors.md#delivery-error-codes');
  });
});
