import { isYes, matchKeyword } from '../channels/sms/sms-keywords.ts';
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { optInToSms, type SmsOptInHook } from '../preferences/preferences-service.ts';
import { optOutOfSms } from '../preferences/sms-opt-out.ts';
import { latestSmsNotification, storeInbound, usersByPhone } from './sms-replies.ts';

export interface InboundKeywordDeps {
  db: Db;
  helpText: string;
  logger: Logger;
  /** Sends the SMS opt-in confirmation when START turns SMS on. */
  onSmsOptIn?: SmsOptInHook;
}

/** One text sent to our number, whichever provider's webhook brought it (signature checked). */
export interface InboundText {
  provider: 'twilio' | 'vonage';
  /** The provider's id for it: a retried webhook repeats it. */
  messageId: string;
  /** The phone that texted, E.164. */
  from: string;
  /** Our number it was sent to. */
  to: string;
  body: string;
}

export interface InboundOutcome {
  /** The text to answer with (HELP, a confirmed order), or none. */
  reply: string | undefined;
  /** False when the provider repeated a webhook already handled: nothing changed again. */
  fresh: boolean;
}

/**
 * What a text to our number does, the same through every provider. STOP-type keywords (matched on
 * the whole text, as Twilio does) switch all of the sender's SMS off, START-type back on, HELP
 * answers with the help text; a YES after a message that asked for confirmation confirms that
 * order; everything is stored. No reply to STOP (Twilio confirms it itself and blocks ours to an
 * opted-out number) nor to START (when START turned SMS on, the opt-in confirmation,
 * notifications/sms-opt-in-confirmation.ts, is the one message, so the user is not told twice).
 */
export async function handleInboundText(deps: InboundKeywordDeps, m: InboundText): Promise<InboundOutcome> {
  const matched = await usersByPhone(deps.db, m.from);
  const user = matched[0];
  const latest = user ? await latestSmsNotification(deps.db, user.id) : undefined;
  const confirms = isYes(m.body) && latest?.asksConfirmation === true;
  const keyword = confirms ? null : matchKeyword(m.body);
  const fresh = await storeInbound(deps.db, {
    messageSid: m.messageId,
    userId: user?.id ?? null,
    from: m.from,
    to: m.to,
    body: m.body,
    keyword,
    notificationId: latest?.notificationId ?? null,
    orderNumber: latest?.orderNumber ?? null,
    confirmed: confirms,
  });
  if (fresh) {
    const reason = `SMS keyword "${m.body.trim()}" from the user's phone`;
    for (const u of keyword === 'STOP' || keyword === 'START' ? matched : []) {
      if (keyword === 'STOP') await optOutOfSms(deps.db, u.id, 'stop_keyword', reason);
      else await optInToSms(deps.db, u.id, reason, deps.onSmsOptIn);
    }
    deps.logger.info(
      { provider: m.provider, messageId: m.messageId, keyword, users: matched.length, confirmed: confirms },
      'inbound SMS',
    );
  }
  if (keyword === 'HELP') return { reply: deps.helpText, fresh };
  if (confirms) {
    const order = latest?.orderNumber ? `order ${latest.orderNumber}` : 'your order';
    return { reply: `LaundryConnect: thanks, ${order} is confirmed.`, fresh };
  }
  return { reply: undefined, fresh };
}
