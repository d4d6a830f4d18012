/**
 * The one classification of SMTP send failures (pure): retry later or give up, and whether the
 * recipient's mailbox bounced. The server's reply code decides when there is one (RFC 5321: 4yz is
 * transient, 5yz permanent); without a reply, a connection that never got that far is retried.
 */

export type EmailErrorCode =
  | 'EMAIL_CONNECTION_FAILED'
  | 'EMAIL_DEFERRED'
  | 'EMAIL_BOUNCED'
  | 'EMAIL_REJECTED'
  | 'EMAIL_AUTH_FAILED'
  | 'EMAIL_INVALID'
  | 'EMAIL_ERROR';

export interface SmtpFailure {
  kind: 'retryable' | 'permanent';
  code: EmailErrorCode;
  /** The recipient's mailbox does not exist or is unavailable: sending again will not help. */
  bounce: boolean;
  smtpCode: number | null;
  response: string | null;
}

/** The fields nodemailer (and Node's net module) put on a failed send. */
export interface SmtpErrorLike {
  code?: unknown;
  originalCode?: unknown;
  responseCode?: unknown;
  response?: unknown;
  command?: unknown;
}

/** Node socket/DNS codes and the nodemailer codes for a connection that broke before a reply. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EPIPE',
  'ECONNECTION',
  'ESOCKET',
  'EDNS',
  'ETLS',
  'EPROXY',
  'EMAXLIMIT',
]);

/** 550 mailbox unavailable, 551 user not local, 553 mailbox name not allowed. */
const BOUNCE_CODES = new Set([550, 551, 553]);

/** Nodemailer refused the message itself (bad address, too large, bad options): no server will take it. */
const INVALID_CODES = new Set(['EENVELOPE', 'EMESSAGE', 'EREQUIRETLS', 'EMAXRECIPIENTS', 'ECONFIG']);

export function classifySmtpError(err: SmtpErrorLike): SmtpFailure {
  const response = typeof err.response === 'string' ? err.response : null;
  const smtpCode = replyCode(err.responseCode, response);
  const codes = [err.code, err.originalCode].filter((c): c is string => typeof c === 'string');
  const base = { smtpCode, response, bounce: false };

  if (smtpCode !== null && smtpCode >= 400 && smtpCode < 600) {
    // 503 (bad sequence) is the session's state, not a verdict on the message: a new connection can work.
    if (smtpCode < 500 || smtpCode === 503) return { ...base, kind: 'retryable', code: 'EMAIL_DEFERRED' };
    if (codes.includes('EAUTH')) return { ...base, kind: 'permanent', code: 'EMAIL_AUTH_FAILED' };
    // A 553 to MAIL FROM refuses our sender address; only a refused recipient is the user's bounce.
    if (BOUNCE_CODES.has(smtpCode) && err.command !== 'MAIL FROM') {
      return { ...base, kind: 'permanent', code: 'EMAIL_BOUNCED', bounce: true };
    }
    return { ...base, kind: 'permanent', code: 'EMAIL_REJECTED' };
  }
  if (codes.some((c) => CONNECTION_CODES.has(c))) {
    return { ...base, kind: 'retryable', code: 'EMAIL_CONNECTION_FAILED' };
  }
  if (codes.includes('EAUTH') || codes.includes('ENOAUTH')) {
    return { ...base, kind: 'permanent', code: 'EMAIL_AUTH_FAILED' };
  }
  if (codes.some((c) => INVALID_CODES.has(c))) return { ...base, kind: 'permanent', code: 'EMAIL_INVALID' };
  // Unknown failure: the retry budget bounds the cost of being wrong, a lost email is worse.
  return { ...base, kind: 'retryable', code: 'EMAIL_ERROR' };
}

/** Common SMTP replies (RFC 5321 §4.2.3), for reading a recorded `smtp_code`. */
const REPLY_TEXT: Record<number, string> = {
  421: 'service not available, closing the connection',
  450: 'mailbox unavailable (busy or temporarily blocked)',
  451: 'local error in processing',
  452: 'insufficient system storage',
  503: 'bad sequence of commands',
  530: 'authentication required',
  535: 'authentication credentials invalid',
  550: 'mailbox unavailable (not found, or refused by policy)',
  551: 'user not local',
  552: 'exceeded storage allocation (message too large)',
  553: 'mailbox name not allowed',
  554: 'transaction failed',
};

/**
 * An SMTP reply code in words and the code a send failing with it records (a recipient's reply:
 * 550 is a bounce); null when it is not a failure reply (not 4yz or 5yz).
 */
export function describeSmtpReply(smtpCode: number): { code: EmailErrorCode; text: string } | null {
  if (!Number.isInteger(smtpCode) || smtpCode < 400 || smtpCode >= 600) return null;
  const { code } = classifySmtpError({ responseCode: smtpCode, command: 'RCPT TO' });
  const text =
    REPLY_TEXT[smtpCode] ?? (smtpCode < 500 ? 'transient failure, try again later' : 'permanent failure');
  return { code, text };
}

function replyCode(responseCode: unknown, response: string | null): number | null {
  if (typeof responseCode === 'number' && Number.isInteger(responseCode)) return responseCode;
  const leading = response?.match(/^(\d{3})[\s-]/);
  return leading ? Number(leading[1]) : null;
}
