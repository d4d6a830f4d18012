/** Renders a stored message as Twilio's 2010-04-01 Message resource (snake_case JSON). */
import type { SandboxMessage } from './message-store.ts';

export const API_VERSION = '2010-04-01';

/** Twilio's dates: RFC 2822 in GMT, e.g. `Thu, 24 Aug 2023 05:01:45 +0000`. */
export function rfc2822(ms: number): string {
  return new Date(ms).toUTCString().replace('GMT', '+0000');
}

export function messagesPath(accountSid: string): string {
  return `/${API_VERSION}/Accounts/${accountSid}/Messages`;
}

export function toMessageResource(m: SandboxMessage, accountSid: string) {
  const base = `${messagesPath(accountSid)}/${m.sid}`;
  return {
    account_sid: accountSid,
    api_version: API_VERSION,
    body: m.body,
    date_created: rfc2822(m.dateCreated),
    date_sent: m.dateSent === null ? null : rfc2822(m.dateSent),
    date_updated: rfc2822(m.dateUpdated),
    direction: m.direction,
    error_code: m.errorCode,
    error_message: m.errorMessage,
    from: m.from,
    messaging_service_sid: m.messagingServiceSid,
    num_media: String(m.numMedia),
    num_segments: String(m.numSegments),
    price: m.price,
    price_unit: 'USD',
    sid: m.sid,
    status: m.status,
    subresource_uris: { media: `${base}/Media.json`, feedback: `${base}/Feedback.json` },
    to: m.to,
    uri: `${base}.json`,
  };
}

/** The control plane's view: the resource's essentials plus what the provider does not expose. */
export function toSandboxView(m: SandboxMessage) {
  return {
    sid: m.sid,
    provider: m.provider,
    direction: m.direction,
    to: m.to,
    from: m.from,
    body: m.body,
    status: m.status,
    num_segments: m.numSegments,
    error_code: m.errorCode,
    price: m.price,
    date_created: new Date(m.dateCreated).toISOString(),
    status_callback: m.statusCallback,
    history: m.history.map((h) => ({ status: h.status, at: new Date(h.at).toISOString() })),
    params: m.params,
    ...(m.vonage === undefined ? {} : { vonage: m.vonage }),
  };
}
