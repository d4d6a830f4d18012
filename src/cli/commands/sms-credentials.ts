import { createTwilioClient } from '../../channels/sms/twilio-http-client.ts';
import type { Config } from '../../config.ts';
import type { SmsSetup } from '../../setup/sms.ts';

/**
 * Prove the SMS credentials with an authenticated call that sends nothing: fetch the Account
 * resource. Being configured only means the variables are set; a wrong token shows up only here.
 * Returns undefined when Twilio (or the sandbox) accepted them, else the seed's error text, e.g.
 * "Twilio error: Authenticate" (20003).
 */
export async function credentialsProblem(config: Config, sms: SmsSetup): Promise<string | undefined> {
  if (!sms.accountSid || !sms.authToken) return 'Twilio error: Authenticate';
  const client = createTwilioClient({
    accountSid: sms.accountSid,
    authToken: sms.authToken,
    baseUrl: sms.sandbox?.url ?? (sms.backend === 'sandbox' ? config.SMS_SANDBOX_URL : undefined),
    timeoutMs: config.SMS_REQUEST_TIMEOUT_MS,
  });
  try {
    await client.api.v2010.accounts(sms.accountSid).fetch();
    return undefined;
  } catch (err) {
    const e = err as { code?: number; message?: string };
    // A RestException carries Twilio's code; anything else is the network.
    return typeof e.code === 'number'
      ? `Twilio error: ${e.message} (${e.code})`
      : `Twilio request failed: ${e.message}`;
  }
}
