/**
 * Twilio's Account fetch, `GET /2010-04-01/Accounts/{Sid}.json`: the cheapest authenticated call,
 * which `test-sms --check-config` makes to prove the credentials. Authentication is checked by the
 * router before this runs.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './http-io.ts';
import { rfc2822 } from './message-resource.ts';

export const ACCOUNT_ROUTE = /^\/2010-04-01\/Accounts\/([^/]+)\.json$/;

export function accountApi(
  req: IncomingMessage,
  res: ServerResponse,
  accountSid: string,
  since: number,
): void {
  if (req.method !== 'GET') {
    sendJson(res, 405, { code: 20004, message: 'Method not allowed', more_info: '', status: 405 });
    return;
  }
  const path = `/2010-04-01/Accounts/${accountSid}`;
  // Twilio's resource also carries the auth token; the sandbox leaves it out, as secrets stay out of responses.
  sendJson(res, 200, {
    sid: accountSid,
    owner_account_sid: accountSid,
    friendly_name: 'LaundryConnect sandbox',
    status: 'active',
    type: 'Full',
    date_created: rfc2822(since),
    date_updated: rfc2822(since),
    uri: `${path}.json`,
    subresource_uris: { messages: `${path}/Messages.json` },
  });
}
