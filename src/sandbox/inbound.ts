/**
 * Inbound SMS: the webhook Twilio posts to a number's messaging URL when someone texts it, with
 * Advanced Opt-Out's `OptOutType` when the text is a keyword.
 */
import { matchKeyword } from '../channels/sms/sms-keywords.ts';
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

/** Twilio's keyword table (one copy, shared with the service's inbound webhook) gives `OptOutType`. */
export const optOutType = matchKeyword;

/** The received message as the sandbox stores it, carrying the webhook form it will post. */
export function inboundMessage(sms: InboundSms, accountSid: string, now: number): SandboxMessage {
  const sid = newSid('SM');
  const params: Record<string, string> = {
    AccountSid: accountSid,
    ApiVersion: API_VERSION,
    Body: sms.body,
    From: sms.from,
    MessageSid: sid,
    NumMedia: '0',
    NumSegments: String(countSegments(sms.body)),
    SmsMessageSid: sid,
    SmsSid: sid,
    SmsStatus: 'received',
    To: sms.to,
  };
  const optOut = optOutType(sms.body);
  if (optOut !== null) params.OptOutType = optOut;
  return receivedMessage(
    { sid, provider: 'twilio', from: sms.from, to: sms.to, body: sms.body, params },
    now,
  );
}

/**
 * A text someone sent to one of the sandbox's numbers, as the message store keeps it, whichever
 * provider's API received it; `params` is the webhook body that provider will post.
 */
export function receivedMessage(
  m: Pick<SandboxMessage, 'sid' | 'provider' | 'from' | 'to' | 'body' | 'params'>,
  now: number,
): SandboxMessage {
  return {
    ...m,
    direction: 'inbound',
    messagingServiceSid: null,
    status: 'received',
    numSegments: countSegments(m.body),
    numMedia: 0,
    mediaUrls: [],
    errorCode: null,
    errorMessage: null,
    price: null,
    dateCreated: now,
    dateSent: now,
    dateUpdated: now,
    statusCallback: null,
    history: [{ status: 'received', at: now }],
  };
}
