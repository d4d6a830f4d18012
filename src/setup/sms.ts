import { readFileSync } from 'node:fs';
import { DEFAULT_SMS_PRICES, type PriceTable, parsePriceTable } from '../channels/sms/cost.ts';
import {
  DEFAULT_ROUTING,
  type ProviderName,
  parseRoutingConfig,
  type RoutingConfig,
} from '../channels/sms/routing/routing-config.ts';
import { SmsRouter } from '../channels/sms/routing/sms-router.ts';
import { SmsChannel } from '../channels/sms/sms-channel.ts';
import type { SmsProvider } from '../channels/sms/sms-provider.ts';
import { SmsService } from '../channels/sms/sms-service.ts';
import { createTwilioClient } from '../channels/sms/twilio-http-client.ts';
import { TwilioProvider } from '../channels/sms/twilio-provider.ts';
import { VonageProvider, type VonageProviderOptions } from '../channels/sms/vonage/vonage-provider.ts';
import type { VonageSignatureMethod } from '../channels/sms/vonage/vonage-receipts.ts';
import { VonageService } from '../channels/sms/vonage/vonage-service.ts';
import type { Clock } from '../clock.ts';
import { type Config, ConfigError, smsBackend } from '../config.ts';
import type { LinkStore } from '../links/link-store.ts';
import type { Logger } from '../logger.ts';
import { startTwilioSandbox, type TwilioSandbox, type VonageCredentials } from '../sandbox/server.ts';
import { VONAGE_SANDBOX_DEFAULTS } from '../sandbox/vonage/account.ts';
import type { TemplateStore } from '../templates/template-store.ts';
import { mediaChecker } from './media-check.ts';

/** Twilio's magic "valid sender" test number: what the sandbox sends from when none is configured. */
export const SANDBOX_FROM_NUMBER = '+15005550006';
/** The Vonage sender id the sandbox uses when VONAGE_FROM is unset (India's DLT headers look so). */
export const SANDBOX_VONAGE_FROM = 'LNDRYC';

/** The second SMS provider, when configured (or on the sandbox). */
export interface VonageSetup {
  service: VonageService;
  apiKey: string;
  from: string;
  /** Verifies its delivery receipts and inbound webhooks; unset, those routes are not served. */
  signature: { secret: string; method: VonageSignatureMethod } | undefined;
}

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
  vonage: VonageSetup | undefined;
  /** The providers that may send, in the order configured: each is configured and enabled. */
  providers: ProviderName[];
  /** Chooses the provider per SMS; undefined when no provider is configured. */
  router: SmsRouter | undefined;
  routing: RoutingConfig;
  /** The per-segment prices the channel's estimates use (config's table or the defaults). */
  prices: PriceTable;
  close(): Promise<void>;
}

export interface SmsSetupDeps {
  templates: TemplateStore;
  logger: Logger;
  /** The status callback URL once the HTTP server knows its address (undefined: no callbacks). */
  statusCallbackUrl: () => string | undefined;
  /** Vonage's delivery receipt URL once the HTTP server knows its address (undefined: no receipts). */
  vonageReceiptUrl: () => string | undefined;
  clock: Clock;
  /** A Vonage receipt parked for our reference (see VonageProvider); absent, Vonage sends in doubt stay in doubt. */
  receiptFor?: VonageProviderOptions['receiptFor'];
  onOptedOut: (userId: number, reason: string) => Promise<void>;
  /** The tracked links' rows (the app's database); the CLI has none (SmsChannelOptions.links). */
  links?: LinkStore;
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
  const vonageAccount = {
    apiKey: config.VONAGE_API_KEY,
    apiSecret: config.VONAGE_API_SECRET,
    signatureSecret: config.VONAGE_SIGNATURE_SECRET,
    signatureAlgorithm: config.VONAGE_SIGNATURE_SECRET ? config.VONAGE_SIGNATURE_METHOD : undefined,
  };
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
        vonage: definedOnly(vonageAccount),
        logger: deps.logger.child({ component: 'twilio-sandbox' }),
      });
      baseUrl = sandbox.url;
      accountSid = sandbox.accountSid;
      authToken = sandbox.authToken;
    }
    from ??= SANDBOX_FROM_NUMBER;
  }
  // A configuration error below must not leave the sandbox this process started listening.
  try {
    const client =
      config.SMS_ENABLED && accountSid && authToken
        ? createTwilioClient({ accountSid, authToken, baseUrl, timeoutMs: config.SMS_REQUEST_TIMEOUT_MS })
        : undefined;
    const onSandbox =
      backend === 'sandbox'
        ? {
            url: baseUrl,
            account: sandbox?.vonage ?? { ...VONAGE_SANDBOX_DEFAULTS, ...definedOnly(vonageAccount) },
          }
        : undefined;
    const vonage = config.SMS_ENABLED ? vonageSetup(config, onSandbox, deps) : undefined;
    const service = new SmsService({
      client,
      from,
      messagingServiceSid: config.TWILIO_MESSAGING_SERVICE_SID,
      statusCallbackUrl: deps.statusCallbackUrl,
    });
    const providers = enabledProviders(config, { twilio: service.configured, vonage: vonage !== undefined });
    const routing = config.SMS_ROUTING_FILE ? readRouting(config.SMS_ROUTING_FILE) : DEFAULT_ROUTING;
    const router =
      providers.length > 0 ? new SmsRouter({ config: routing, providers, clock: deps.clock }) : undefined;
    const senders = new Map<ProviderName, SmsProvider>();
    for (const name of providers) {
      senders.set(
        name,
        name === 'twilio'
          ? new TwilioProvider(service)
          : new VonageProvider({
              service: vonage!.service,
              receiptFor: deps.receiptFor,
              reconcileWindowMs: config.VONAGE_RECONCILE_WINDOW_MS,
              clock: deps.clock,
            }),
      );
    }
    const channel = router
      ? new SmsChannel({
          providers: senders,
          router,
          templates: deps.templates,
          prices,
          logger: deps.logger,
          clock: deps.clock,
          onOptedOut: deps.onOptedOut,
          dlt: { entityId: config.DLT_ENTITY_ID, senderId: config.DLT_SENDER_ID },
          links: deps.links,
          media: {
            hosts: config.MMS_MEDIA_HOSTS ?? [],
            check: mediaChecker({
              timeoutMs: config.MMS_MEDIA_CHECK_TIMEOUT_MS,
              maxBytes: config.MMS_MAX_MEDIA_BYTES,
              allowPrivate: config.WEBHOOK_ALLOW_PRIVATE_TARGETS,
              ca: config.MMS_MEDIA_CA_FILE ? readFileSync(config.MMS_MEDIA_CA_FILE, 'utf8') : undefined,
            }),
          },
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
      vonage,
      providers,
      router,
      routing,
      prices,
      close: async () => sandbox?.close(),
    };
  } catch (err) {
    await sandbox?.close();
    throw err;
  }
}

/**
 * Vonage with VONAGE_API_KEY and _SECRET, or on the sandbox with its account (the in-process one's,
 * else the fixed development defaults an external sandbox uses, each overridable by config).
 */
function vonageSetup(
  config: Config,
  onSandbox: { url: string | undefined; account: VonageCredentials } | undefined,
  deps: SmsSetupDeps,
): VonageSetup | undefined {
  const account = onSandbox?.account;
  const apiKey = config.VONAGE_API_KEY ?? account?.apiKey;
  const apiSecret = config.VONAGE_API_SECRET ?? account?.apiSecret;
  const from = config.VONAGE_FROM ?? (onSandbox ? SANDBOX_VONAGE_FROM : undefined);
  if (!apiKey || !apiSecret || !from) return undefined;
  const signature = config.VONAGE_SIGNATURE_SECRET
    ? { secret: config.VONAGE_SIGNATURE_SECRET, method: config.VONAGE_SIGNATURE_METHOD }
    : account && { secret: account.signatureSecret, method: account.signatureAlgorithm };
  return {
    service: new VonageService({
      apiKey,
      apiSecret,
      from,
      restHost: onSandbox?.url,
      timeoutMs: config.SMS_REQUEST_TIMEOUT_MS,
      // Unsigned receipts would be refused: without a secret, none are asked for.
      receiptUrl: signature ? deps.vonageReceiptUrl : () => undefined,
    }),
    apiKey,
    from,
    signature,
  };
}

/** SMS_PROVIDERS' list (or every configured provider), Twilio first; naming an unconfigured one is an error. */
function enabledProviders(config: Config, configured: Record<'twilio' | 'vonage', boolean>): ProviderName[] {
  if (!config.SMS_ENABLED) return [];
  const wanted = config.SMS_PROVIDERS
    ? [...new Set(config.SMS_PROVIDERS.split(',').map((p) => p.trim() as 'twilio' | 'vonage'))]
    : (['twilio', 'vonage'] as const).filter((p) => configured[p]);
  const missing = wanted.filter((p) => !configured[p]);
  if (missing.length > 0) {
    throw new ConfigError(
      `SMS_PROVIDERS names ${missing.join(' and ')}, which is not configured (see docs/sms.md)`,
    );
  }
  return [...wanted];
}

function readRouting(path: string): RoutingConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`SMS_ROUTING_FILE ${path} cannot be read: ${(err as Error).message}`);
  }
  return parseRoutingConfig(text);
}

function definedOnly<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as never;
}
