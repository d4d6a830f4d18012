/**
 * A Twilio-compatible SMS sandbox on plain `node:http`: the Messages API the real SDK calls, the
 * status walk with signed callbacks, fault injection, and a `/sandbox/*` control plane. The same
 * process speaks Vonage's SMS API too (`vonage/`), sharing the store, the walk and the faults. Plain
 * `node:http` keeps the create path lean enough for thousands of messages per second.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_SMS_PRICES, type PriceTable } from '../channels/sms/cost.ts';
import { ACCOUNT_ROUTE, accountApi } from './accounts-api.ts';
import { handleControl } from './control-api.ts';
import { type FaultConfig, FaultInjector } from './faults.ts';
import { BodyTooLargeError, sendJson } from './http-io.ts';
import { type InboundSms, inboundMessage } from './inbound.ts';
import { Lifecycle } from './lifecycle.ts';
import { MessageStore, type SandboxMessage } from './message-store.ts';
import {
  createMessage,
  deleteMessage,
  fetchMessage,
  listMessages,
  type MessagesApiContext,
  rejectWith,
  updateMessage,
} from './messages-api.ts';
import type { SenderPools } from './sender-pool.ts';
import { newAuthToken, newSid } from './sids.ts';
import { newStats, type SandboxLogger, type SandboxStats, silentLogger } from './stats.ts';
import { StatusCallbacks } from './status-callbacks.ts';
import { twilioError } from './twilio-errors.ts';
import { VonageAccount, type VonageAccountOptions } from './vonage/account.ts';
import { type VonageInboundSms, vonageInboundMessage } from './vonage/inbound.ts';
import { Receipts } from './vonage/receipts.ts';
import type { SignatureAlgorithm } from './vonage/signature.ts';
import { SMS_ROUTE, sendSms, type VonageApiContext } from './vonage/sms-api.ts';
import { WebhookClient, type WebhookResponse } from './webhook-client.ts';

export type { FaultConfig, FaultRule } from './faults.ts';
export type { MessageStatus, SandboxMessage, SandboxProvider } from './message-store.ts';
export type { SandboxLogger, SandboxStats } from './stats.ts';
export type { VonageInboundSms } from './vonage/inbound.ts';

export interface SandboxOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Generated when absent (AC + 32 hex, 32 hex). */
  accountSid?: string;
  authToken?: string;
  /** Delay between status steps, default 200 ms. */
  stepMs?: number;
  faults?: FaultConfig;
  /** Default 100,000; the oldest message is dropped beyond it. */
  maxStoredMessages?: number;
  logger?: SandboxLogger;
  /** Per-segment prices the sandbox charges; the service's estimate table by default. */
  prices?: PriceTable;
  /** Each Messaging Service's senders; a service not listed sends from a number derived from its sid. */
  senderPools?: SenderPools;
  /** The Vonage account (fixed development defaults) and its prices (`prices` when unset). */
  vonage?: VonageAccountOptions & { prices?: PriceTable };
}

/** What a Vonage client and webhook receiver need; the secrets are for code, never for printing. */
export interface VonageCredentials {
  apiKey: string;
  apiSecret: string;
  signatureSecret: string;
  signatureAlgorithm: SignatureAlgorithm;
}

export interface TwilioSandbox {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  url: string;
  accountSid: string;
  authToken: string;
  setFaults(faults: FaultConfig): void;
  faults(): FaultConfig;
  /** Newest first. */
  messages(): SandboxMessage[];
  clearMessages(): void;
  stats(): SandboxStats & { stored: number; pendingSteps: number };
  sendInbound(sms: InboundSms): Promise<WebhookResponse>;
  vonage: VonageCredentials;
  /** Vonage's inbound webhook for a text from `from`; throws when neither it nor the account names a URL. */
  sendVonageInbound(sms: VonageInboundSms): Promise<WebhookResponse>;
  close(): Promise<void>;
}

const MESSAGES_ROUTE = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages(?:\/([^/]+))?\.json$/;

export async function startTwilioSandbox(opts: SandboxOptions = {}): Promise<TwilioSandbox> {
  const accountSid = opts.accountSid ?? newSid('AC');
  const authToken = opts.authToken ?? newAuthToken();
  const startedAt = Date.now();
  const expectedAuth = 'Basic ' + Buffer.from(`${accountSid}:${authToken}`).toString('base64');
  const logger = opts.logger ?? silentLogger;
  const stats = newStats();
  const store = new MessageStore(opts.maxStoredMessages ?? 100_000);
  const faults = new FaultInjector(opts.faults);
  const webhooks = new WebhookClient(authToken);
  const callbacks = new StatusCallbacks(accountSid, webhooks, stats, logger);
  const vonageAccount = new VonageAccount(opts.vonage);
  const receipts = new Receipts(vonageAccount, webhooks, callbacks);
  const lifecycle = new Lifecycle(
    opts.stepMs ?? 200,
    (m, status, dup) =>
      m.provider === 'vonage' ? receipts.send(m, status, dup) : callbacks.send(m, status, dup),
    opts.prices,
  );
  const senderPools = opts.senderPools ?? {};
  const api: MessagesApiContext = { accountSid, store, faults, lifecycle, stats, senderPools };
  const vonageApi: VonageApiContext = {
    account: vonageAccount,
    store,
    faults,
    lifecycle,
    stats,
    prices: opts.vonage?.prices ?? opts.prices ?? DEFAULT_SMS_PRICES,
  };

  const sandbox: TwilioSandbox = {
    url: '',
    accountSid,
    authToken,
    setFaults: (config) => faults.set(config),
    faults: () => faults.config,
    messages: () => store.newestFirst(),
    clearMessages: () => {
      store.clear();
      lifecycle.clear();
    },
    stats: () => ({
      ...stats,
      rejected: { ...stats.rejected },
      stored: store.size,
      pendingSteps: lifecycle.pending,
    }),
    sendInbound: async (sms) => {
      const message = inboundMessage(sms, accountSid, Date.now());
      store.add(message);
      stats.inbound++;
      return webhooks.post(sms.url, message.params);
    },
    vonage: {
      apiKey: vonageAccount.apiKey,
      apiSecret: vonageAccount.apiSecret,
      signatureSecret: vonageAccount.signatureSecret,
      signatureAlgorithm: vonageAccount.signatureAlgorithm,
    },
    sendVonageInbound: async (sms) => {
      const url = sms.url ?? vonageAccount.inboundUrl;
      if (url === null) throw new Error("no inbound URL: give one or set the account's inboundUrl");
      const message = vonageInboundMessage(sms, vonageAccount, Date.now());
      store.add(message);
      stats.inbound++;
      return webhooks.postJson(url, message.params);
    },
    close: async () => {
      lifecycle.clear();
      webhooks.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Ends keep-alive sockets and requests left hanging on purpose.
      server.closeAllConnections();
      await closed;
    },
  };

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const search = () => new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
    if (path.startsWith('/sandbox/')) return handleControl(sandbox, req, res, path, search());
    if (path === SMS_ROUTE) {
      // Vonage takes the parameters in a GET's query as well as in a POST.
      if (req.method === 'POST' || req.method === 'GET') return sendSms(vonageApi, req, res, search());
      return sendJson(res, 405, { error: 'Method not allowed: POST /sms/json' });
    }

    const account = ACCOUNT_ROUTE.exec(path);
    const match = account ?? MESSAGES_ROUTE.exec(path);
    if (match === null)
      return rejectWith(stats, res, twilioError(20404, `The requested resource ${path} was not found`));
    if (req.headers.authorization !== expectedAuth || match[1] !== accountSid) {
      res.setHeader('www-authenticate', 'Basic realm="Twilio API"');
      return rejectWith(stats, res, twilioError(20003));
    }
    if (account) return accountApi(req, res, accountSid, startedAt);
    const messageSid = match[2];
    if (messageSid === undefined && req.method === 'POST') return createMessage(api, req, res);
    if (messageSid === undefined && req.method === 'GET') return listMessages(api, res, search());
    if (messageSid !== undefined && req.method === 'GET') return fetchMessage(api, res, messageSid);
    if (messageSid !== undefined && req.method === 'POST') return updateMessage(api, req, res, messageSid);
    if (messageSid !== undefined && req.method === 'DELETE') return deleteMessage(api, res, messageSid);
    sendJson(res, 405, { code: 20004, message: 'Method not allowed', more_info: '', status: 405 });
  }

  const server = http.createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (res.headersSent) return;
      if (err instanceof BodyTooLargeError)
        return sendJson(res, 413, { ...twilioError(20001, err.message), status: 413 });
      logger.warn({ err: String(err), url: req.url }, 'sandbox request failed');
      sendJson(res, 500, twilioError(20500));
    });
  });
  // Outlive the SDK's idle keep-alive sockets so a reused socket is never closed under a request.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  sandbox.url = `http://${host}:${address.port}`;
  logger.info({ url: sandbox.url, accountSid }, 'twilio sandbox listening');
  return sandbox;
}
