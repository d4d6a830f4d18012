import type { Logger } from '../logger.ts';
import type { SmsSetup } from './sms.ts';

/**
 * Twilio posts delivery reports to the status callback URL with the account's signature; over
 * plain http both the report and the signature (which proves nothing once seen) cross the network
 * readable, and Twilio's console warns about such URLs too. Checked once, when the node has started
 * and the URL is final (PUBLIC_URL, or the listen address an API node fell back to). The sandbox is
 * local and is exempt. Returns the warning it logged, if any (tests).
 */
export function warnOnInsecureStatusCallback(
  sms: Pick<SmsSetup, 'backend' | 'providers'>,
  callbackUrl: string | undefined,
  logger: Logger,
): string | undefined {
  if (sms.backend !== 'twilio' || !sms.providers.includes('twilio')) return undefined;
  let message: string | undefined;
  if (callbackUrl === undefined) {
    message =
      'Twilio is used without a status callback URL: set PUBLIC_URL (https) so delivery reports reach this service; until then only the status sweep updates SMS statuses (docs/deployment.md)';
  } else if (!callbackUrl.toLowerCase().startsWith('https://')) {
    message =
      'Twilio is used with an http:// status callback URL: set PUBLIC_URL (or TWILIO_STATUS_CALLBACK_URL) to the https address Twilio reaches this service at (docs/deployment.md)';
  }
  if (message) logger.warn({ statusCallbackUrl: callbackUrl }, message);
  return message;
}
