/**
 * Inbound SMS: the webhook Twilio posts to a number's messaging URL when someone texts it, with
 * Advanced Opt-Out's `OptOutType` when the text is a keyword.
 */
import { API_VERSION } from './message-resource.ts';
import type { SandboxMessage } from './message-store.ts';
import { countSegments } from './segments.ts';
import { newSid } from './sids.ts';

export interface InboundSms {
  from: string;
  to: string;
  body: string;
  url: string;
}

const OPT_OUT_TYPES: Record<string, 'STOP' | 'START' | 'HELP'> = {
  STOP: 'STOP',
  STOPALL: 'STOP',
  UNSUBSCRIBE: 'STOP',
  CANCEL: 'STOP',
  END: 'STOP',
  QUIT: 'STOP',
  REVOKE: 'STOP',
  OPTOUT: 'STOP',
  START: 'START',
  YES: 'START',
  UNSTOP: 'START',
  HELP: 'HELP',
  INFO: 'HELP',
};

/** Twilio matches the whole message, trimmed, case-insensitively. */
export function optOutType(body: string): 'STOP' | 'START' | 'HELP' | null {
  return OPT_OUT_TYPES[body.trim().toUpperCase()] ?? null;
}

/** The received message as the sandbox stores it, carrying the webhook form it will post. */
export function inboundMessage(sms: InboundSms, accountSid: string, now: number): SandboxMessage {
  const sid = newSid('SM');
  const numSegments = countSegments(sms.body);
  const params: Record<string, string> = {
    AccountSid: accountSid,
    ApiVersion: API_VERSION,
    Body: sms.body,
    From: sms.from,
    MessageSid: sid,
    NumMedia: '0',
    NumSegments: String(numSegments),
    SmsMessageSid: sid,
    SmsSid: sid,
    SmsStatus: 'received',
    To: sms.to,
  };
  const optOut = optOutType(sms.body);
  if (optOut !== null) params.OptOutType = optOut;
  return {
    sid,
    direction: 'inbound',
    to: sms.to,
    from: sms.from,
    body: sms.body,
    messagingServiceSid: null,
    status: 'received',
    numSegments,
    errorCode: null,
    errorMessage: null,
    price: null,
    dateCreated: now,
    dateSent: now,
    dateUpdated: now,
    statusCallback: null,
    history: [{ status: 'received', at: now }],
    params,
  };
}
