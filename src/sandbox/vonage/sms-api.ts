/**
 * Vonage's SMS API, `POST /sms/json`: form or JSON body (query parameters too), credentials by
 * Basic auth or `api_key`/`api_secret`, a text split into parts by its `type`, each part priced and
 * charged, and the answer in Vonage's shape, refusals included, on HTTP 200. Injected faults answer
 * as the Twilio side's do (429, 5xx, hang, latency), plus Vonage's own refusal statuses.
 * Signed requests (`sig` instead of `api_secret`) are not simulated: they answer status 2.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { estimateSmsCost, type PriceTable } from '../../channels/sms/cost.ts';
import type { FaultInjector } from '../faults.ts';
import { readBody, sendJson } from '../http-io.ts';
import type { Lifecycle } from '../lifecycle.ts';
import type { MessageStore, SandboxMessage } from '../message-store.ts';
import { countSegmentsAs } from '../segments.ts';
import { countRejection, type SandboxStats } from '../stats.ts';
import { credentialsOf, type VonageAccount } from './account.ts';
import { type Refusal, refusal } from './errors.ts';
import { msisdn, networkCode, newMessageId, toE164 } from './network.ts';

export const SMS_ROUTE = '/sms/json';

/** An alphanumeric sender id (up to 11 characters) or a number (up to 15 digits). */
const SENDER = /^(?:[A-Za-z0-9 ]{1,11}|\+?\d{1,15})$/;

export interface VonageApiContext {
  account: VonageAccount;
  store: MessageStore;
  faults: FaultInjector;
  lifecycle: Lifecycle;
  stats: SandboxStats;
  prices: PriceTable;
}

/** Every parameter as a string, whatever the body's encoding (the SDK sends JSON with booleans). */
async function requestParams(req: IncomingMessage, query: URLSearchParams): Promise<Record<string, string>> {
  const raw = await readBody(req);
  const params = Object.fromEntries(query);
  if (!String(req.headers['content-type']).startsWith('application/json')) {
    return { ...params, ...Object.fromEntries(new URLSearchParams(raw)) };
  }
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    body = undefined;
  }
  if (typeof body !== 'object' || body === null) return params;
  for (const [k, v] of Object.entries(body)) if (v !== null && v !== undefined) params[k] = String(v);
  return params;
}

function answer(
  res: ServerResponse,
  status: number,
  messages: object[],
  latencyMs: number | undefined,
): void {
  const body = { 'message-count': String(messages.length), messages };
  if (latencyMs) setTimeout(() => sendJson(res, status, body), latencyMs).unref();
  else sendJson(res, status, body);
}

function validate(params: Record<string, string>, to: string | null): Refusal | null {
  if (!params.from) return refusal(2, 'Missing from param');
  if (!params.to) return refusal(2, 'Missing to param');
  const type = params.type ?? 'text';
  if (type === 'binary') return refusal(3, 'Invalid Parameters: binary messages are not simulated');
  if (type !== 'text' && type !== 'unicode') return refusal(3, `Invalid Parameters: type ${type}`);
  if (!params.text) return refusal(2, 'Missing text param');
  if (to === null) return refusal(3, 'Invalid to address');
  if (!SENDER.test(params.from)) return refusal(15, 'Illegal Sender Address - rejected');
  return null;
}

function outboundMessage(
  params: Record<string, string>,
  to: string,
  parts: number,
  partPrice: number,
  callback: string | null,
  now: number,
): SandboxMessage {
  const messageIds = Array.from({ length: parts }, newMessageId);
  return {
    sid: messageIds[0]!,
    provider: 'vonage',
    direction: 'outbound-api',
    to,
    from: params.from!,
    body: params.text!,
    messagingServiceSid: null,
    status: 'queued',
    numSegments: parts,
    numMedia: 0,
    mediaUrls: [],
    errorCode: null,
    errorMessage: null,
    price: (partPrice * parts).toFixed(8),
    dateCreated: now,
    dateSent: null,
    dateUpdated: now,
    statusCallback: callback,
    history: [{ status: 'queued', at: now }],
    params,
    vonage: {
      messageIds,
      partPrice: partPrice.toFixed(8),
      network: networkCode(to),
      entityId: params['entity-id'] || null,
      contentId: params['content-id'] || null,
    },
  };
}

/** Where receipts go: the request's `callback`, else the account's URL; none when the request declines them. */
function receiptUrl(params: Record<string, string>, account: VonageAccount): string | null {
  const declined = params['status-report-req'] === 'false' || params['status-report-req'] === '0';
  return declined ? null : params.callback || account.receiptUrl;
}

export async function sendSms(
  ctx: VonageApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
): Promise<void> {
  const params = await requestParams(req, query);
  const refuse = (r: Refusal, latencyMs?: number, httpStatus = 200) => {
    countRejection(ctx.stats, `vonage-${httpStatus === 200 ? r.status : `http-${httpStatus}`}`);
    answer(res, httpStatus, [r], latencyMs);
  };
  const credentials = credentialsOf(req.headers.authorization, params);
  if ('missing' in credentials) return refuse(refusal(2, `Missing ${credentials.missing}`));
  if (!ctx.account.accepts(credentials)) return refuse(refusal(4, 'Bad Credentials'));

  const to = toE164(params.to);
  const rule = ctx.faults.ruleFor(to ?? '', 'vonage');
  const outcome = ctx.faults.roll(rule);
  if (outcome === 'rate-limited') return refuse(refusal(1, 'Throughput Rate Exceeded'), rule.latencyMs, 429);
  if (outcome === 'server-error') return refuse(refusal(5), rule.latencyMs, ctx.faults.coin() ? 500 : 503);
  const invalid =
    validate(params, to) ?? (rule.vonageStatus === undefined ? null : refusal(rule.vonageStatus));
  if (invalid !== null) return refuse(invalid, rule.latencyMs);

  const encoding = params.type === 'unicode' ? 'UCS-2' : 'GSM-7';
  const parts = countSegmentsAs(params.text!, encoding);
  const partPrice = estimateSmsCost(to!, 1, ctx.prices).amount;
  if (!ctx.account.charge(partPrice * parts))
    return refuse(refusal(9, 'Quota Exceeded - rejected'), rule.latencyMs);

  const message = outboundMessage(params, to!, parts, partPrice, receiptUrl(params, ctx.account), Date.now());
  ctx.store.add(message);
  ctx.stats.created++;
  ctx.lifecycle.start(message, rule);
  if (outcome === 'hang') {
    // Created (and charged) but never answered: the client cannot tell whether it sent.
    ctx.stats.hung++;
    return;
  }
  // Each part's entry shows the balance after that part, as Vonage's do.
  const balanceBefore = ctx.account.balance + partPrice * parts;
  const entries = message.vonage!.messageIds.map((id, i) => ({
    to: msisdn(to!),
    'message-id': id,
    status: '0',
    'remaining-balance': (balanceBefore - partPrice * (i + 1)).toFixed(8),
    'message-price': partPrice.toFixed(8),
    network: message.vonage!.network,
    ...(params['client-ref'] ? { 'client-ref': params['client-ref'] } : {}),
  }));
  answer(res, 200, entries, rule.latencyMs);
}
