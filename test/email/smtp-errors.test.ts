import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  classifySmtpError,
  type SmtpErrorLike,
  type SmtpFailure,
} from '../../src/channels/email/smtp-errors.ts';

type Row = [
  label: string,
  err: SmtpErrorLike,
  kind: SmtpFailure['kind'],
  code: SmtpFailure['code'],
  bounce?: boolean,
];

// Error shapes as nodemailer reports them: `code` is its own, `originalCode` the socket's.
const ROWS: Row[] = [
  [
    'refused connection',
    { code: 'ESOCKET', originalCode: 'ECONNREFUSED' },
    'retryable',
    'EMAIL_CONNECTION_FAILED',
  ],
  [
    'reset connection',
    { code: 'ESOCKET', originalCode: 'ECONNRESET' },
    'retryable',
    'EMAIL_CONNECTION_FAILED',
  ],
  [
    'DNS lookup failed for now',
    { code: 'EDNS', originalCode: 'EAI_AGAIN' },
    'retryable',
    'EMAIL_CONNECTION_FAILED',
  ],
  ['greeting timeout', { code: 'ETIMEDOUT' }, 'retryable', 'EMAIL_CONNECTION_FAILED'],
  ['connection closed unexpectedly', { code: 'ECONNECTION' }, 'retryable', 'EMAIL_CONNECTION_FAILED'],
  ['a bare Node socket error', { code: 'EHOSTUNREACH' }, 'retryable', 'EMAIL_CONNECTION_FAILED'],
  ['421 service closing', { code: 'ECONNECTION', responseCode: 421 }, 'retryable', 'EMAIL_DEFERRED'],
  [
    '450 mailbox busy',
    { code: 'EENVELOPE', responseCode: 450, command: 'RCPT TO' },
    'retryable',
    'EMAIL_DEFERRED',
  ],
  [
    '451 greylisted',
    { code: 'EENVELOPE', responseCode: 451, command: 'RCPT TO' },
    'retryable',
    'EMAIL_DEFERRED',
  ],
  [
    '452 out of storage',
    { code: 'EMESSAGE', responseCode: 452, command: 'DATA' },
    'retryable',
    'EMAIL_DEFERRED',
  ],
  ['454 auth unavailable for now', { code: 'EAUTH', responseCode: 454 }, 'retryable', 'EMAIL_DEFERRED'],
  ['503 bad sequence', { code: 'EPROTOCOL', responseCode: 503 }, 'retryable', 'EMAIL_DEFERRED'],
  [
    '550 to RCPT TO',
    { code: 'EENVELOPE', responseCode: 550, command: 'RCPT TO' },
    'permanent',
    'EMAIL_BOUNCED',
    true,
  ],
  [
    '551 user not local',
    { code: 'EENVELOPE', responseCode: 551, command: 'RCPT TO' },
    'permanent',
    'EMAIL_BOUNCED',
    true,
  ],
  [
    '553 bad mailbox name',
    { code: 'EENVELOPE', responseCode: 553, command: 'RCPT TO' },
    'permanent',
    'EMAIL_BOUNCED',
    true,
  ],
  [
    '550 after DATA',
    { code: 'EMESSAGE', responseCode: 550, command: 'DATA' },
    'permanent',
    'EMAIL_BOUNCED',
    true,
  ],
  [
    '553 to MAIL FROM (our sender)',
    { code: 'EENVELOPE', responseCode: 553, command: 'MAIL FROM' },
    'permanent',
    'EMAIL_REJECTED',
  ],
  [
    '552 message too big',
    { code: 'EMESSAGE', responseCode: 552, command: 'DATA' },
    'permanent',
    'EMAIL_REJECTED',
  ],
  [
    '554 rejected as spam',
    { code: 'EMESSAGE', responseCode: 554, command: 'DATA' },
    'permanent',
    'EMAIL_REJECTED',
  ],
  ['535 bad credentials', { code: 'EAUTH', responseCode: 535 }, 'permanent', 'EMAIL_AUTH_FAILED'],
  ['no credentials given', { code: 'ENOAUTH' }, 'permanent', 'EMAIL_AUTH_FAILED'],
  ['malformed recipient', { code: 'EENVELOPE', command: 'API' }, 'permanent', 'EMAIL_INVALID'],
  ['unknown error', { code: 'EWHATEVER' }, 'retryable', 'EMAIL_ERROR'],
  ['no code at all', {}, 'retryable', 'EMAIL_ERROR'],
];

describe('classifySmtpError', () => {
  for (const [label, err, kind, code, bounce = false] of ROWS) {
    test(`${label} is ${kind} ${code}${bounce ? ' (bounce)' : ''}`, () => {
      const failure = classifySmtpError(err);
      assert.equal(failure.kind, kind);
      assert.equal(failure.code, code);
      assert.equal(failure.bounce, bounce);
    });
  }

  test('the reply code is read from the response when responseCode is absent', () => {
    const failure = classifySmtpError({ response: '550-5.1.1 The email account does not exist' });
    assert.deepEqual(failure, {
      kind: 'permanent',
      code: 'EMAIL_BOUNCED',
      bounce: true,
      smtpCode: 550,
      response: '550-5.1.1 The email account does not exist',
    });
  });

  test('a failure without a reply carries no SMTP code or response', () => {
    const failure = classifySmtpError({ code: 'ESOCKET', originalCode: 'ECONNREFUSED' });
    assert.equal(failure.smtpCode, null);
    assert.equal(failure.response, null);
  });
});
