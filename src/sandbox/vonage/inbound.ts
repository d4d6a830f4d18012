/**
 * Inbound SMS the Vonage way: signed JSON posted to the number's inbound URL with the sender as
 * `msisdn`, the text, its `type` and its first word as `keyword`, so STOP/START/HELP arriving
 * through Vonage can be tested. Concatenated inbound parts are not simulated: one text, one webhook.
 */

import { receivedMessage } from '../inbound.ts';
import type { SandboxMessage } from '../message-store.ts';
import { isGsm7 } from '../segments.ts';
import type { VonageAccount } from './account.ts';
import { msisdn, networkCode, newMessageId } from './network.ts';
import { vonageTimestamp } from './receipts.ts';
import { signed } from './signature.ts';

export interface VonageInboundSms {
  /** The phone that texts, E.164. */
  from: string;
  /** The service's Vonage number, E.164. */
  to: string;
  text: string;
  /** The inbound webhook; the account's inbound URL when absent. */
  url?: string;
}

export function inboundParams(sms: VonageInboundSms, messageId: string, account: VonageAccount, now: number) {
  return signed(
    {
      msisdn: msisdn(sms.from),
      to: msisdn(sms.to),
      messageId,
      text: sms.text,
      type: isGsm7(sms.text) ? 'text' : 'unicode',
      keyword: (sms.text.trim().split(/\s+/)[0] ?? '').toUpperCase(),
      'api-key': account.apiKey,
      'message-timestamp': vonageTimestamp(now),
    },
    account.signatureSecret,
    account.signatureAlgorithm,
    now,
  );
}

/** The received message as the sandbox stores it, carrying the webhook body it will post. */
export function vonageInboundMessage(
  sms: VonageInboundSms,
  account: VonageAccount,
  now: number,
): SandboxMessage {
  const sid = newMessageId();
  return {
    ...receivedMessage(
      {
        sid,
        provider: 'vonage',
        from: sms.from,
        to: sms.to,
        body: sms.text,
        params: inboundParams(sms, sid, account, now),
      },
      now,
    ),
    vonage: {
      messageIds: [sid],
      partPrice: '0.00000000',
      network: networkCode(sms.from),
      entityId: null,
      contentId: null,
    },
  };
}
