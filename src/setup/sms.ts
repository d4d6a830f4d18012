import { DEFAULT_SMS_PRICES, type PriceTable, parsePriceTable } from '../channels/sms/cost.ts';
import { SmsChannel } from '../channels/sms/sms-channel.ts';
import { SmsService } from '../channels/sms/sms-service.ts';
import { createTwilioClient } from '../channels/sms/twilio-http-client.ts';
import { type Config, smsBackend } from '../config.ts';
import type { Logger } from '../logger.ts';
import { startTwilioSandbox, type TwilioSandbox } from '../sandbox/server.ts';
import type { TemplateStore } from '../templates/template-store.ts';

/** Twilio's magic "valid sender" test number: what the sandbox sends from when none is configured. */
export const SANDBOX_FROM_NUMBER = '+15005550006';

export interface SmsSetup {
  backend: 'sandbox' | 'twilio';
  service: SmsService;
  /** Undefined when SMS is disabled or not configured: SMS deliveries are then skipped at creation. */
  channel: SmsChannel | undefined;
  /** The in-process sandbox, when this process runs one. */
  sandbox: TwilioSandbox | undefined;
  accountSid: string | undefined;
  /** The token that signs status callbacks (Twilio's, or the sandbox's). */
  authToken: string | undefined;
  from: string | undefined;
  /** The per-segment prices the channel's estimates use (config's table or the defaults). */
  prices: PriceTable;
  close(): Promise<void>;
}

export interface SmsSetupDeps {
  templates: TemplateStore;
  logger: Logger;
  /** The status callback URL once the HTTP server knows its address (undefined: no callbacks). */
  statusCallbackUrl: () => string | undefined;
  onOptedOut: (userId: number, reason: string) => Promise<void>;
}

/**
 * Choose and build the SMS backend. Without Twilio credentials (or with SMS_BACKEND=sandbox) the
 * Twilio-compatible sandbox runs in this process, or the one at SMS_SANDBOX_URL is used, and the same
 * SDK code talks to it; with credentials it talks to Twilio.
 */
export async function setupSms(config: Config, deps: SmsSetupDeps): Promise<SmsSetup> {
  const backend = smsBackend(config);
  // One table for the estimate and the sandbox's reported price, so the two agree.
  const prices = config.SMS_PRICES_JSON ? parsePriceTable(config.SMS_PRICES_JSON) : DEFAULT_SMS_PRICES;
  let sandbox: TwilioSandbox | undefined;
  let accountSid = config.TWILIO_ACCOUNT_SID;
  let authToken = config.TWILIO_AUTH_TOKEN;
  let baseUrl: string | undefined;
  let from = config.TWILIO_PHONE_NUMBER;
  if (backend === 'sandbox' && config.SMS_ENABLED) {
    if (config.SMS_SANDBOX_URL) {
      baseUrl = config.SMS_SANDBOX_URL;
    } else {
      sandbox = await startTwilioSandbox({
        accountSid,
        authToken,
        port: config.SANDBOX_PORT,
        stepMs: config.SANDBOX_STEP_MS,
        prices,
        logger: deps.logger.child({ component: 'twilio-sandbox' }),
      });
      baseUrl = sandbox.url;
      accountSid = sandbox.accountSid;
      authToken = sandbox.authToken;
    }
    from ??= SANDBOX_FROM_NUMBER;
  }
  const client =
    config.SMS_ENABLED && accountSid && authToken
      ? createTwilioClient({ accountSid, authToken, baseUrl, timeoutMs: config.SMS_REQUEST_TIMEOUT_MS })
      : undefined;
  const service = new SmsService({
    client,
    from,
    messagingServiceSid: config.TWILIO_MESSAGING_SERVICE_SID,
    statusCallbackUrl: deps.statusCallbackUrl,
  });
  const channel = service.configured
    ? new SmsChannel({
        service,
        templates: deps.templates,
        prices,
        logger: deps.logger,
        onOptedOut: deps.onOptedOut,
        dlt: { entityId: config.DLT_ENTITY_ID, senderId: config.DLT_SENDER_ID },
      })
    : undefined;
  if (config.SMS_ENABLED && !channel) {
    deps.logger.warn({}, 'SMS service not configured: SMS deliveries will be skipped (see docs/sms.md)');
  }
  return {
    backend,
    service,
    channel,
    sandbox,
    accountSid,
    authToken,
    from,
    prices,
    close: async () => sandbox?.close(),
  };
}
