/**
 * The Twilio Messages API the SDK talks to: create (with validation and injected faults), fetch,
 * list, update (redact or cancel) and delete. Authentication is checked by the router before these run.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultInjector, FaultRule } from './faults.ts';
import { readBody, sendJson } from './http-io.ts';
import type { Lifecycle } from './lifecycle.ts';
import { listResponse, matchesQuery, parseListQuery } from './list-query.ts';
import { messagesPath, toMessageResource } from './message-resource.ts';
import type { MessageStatus, MessageStore, SandboxMessage } from './message-store.ts';
import { countSegments } from './segments.ts';
import { type SenderPools, senderFor } from './sender-pool.ts';
import { newSid } from './sids.ts';
import { countRejection, type SandboxStats } from './stats.ts';
import { invalidToError, type TwilioErrorBody, twilioError } from './twilio-errors.ts';

const E164 = /^\+[1-9]\d{6,14}$/;
const MAX_BODY_CHARS = 1600;

export interface MessagesApiContext {
  accountSid: string;
  store: MessageStore;
  faults: FaultInjector;
  lifecycle: Lifecycle;
  stats: SandboxStats;
  senderPools: SenderPools;
}

export function rejectWith(stats: SandboxStats, res: ServerResponse, error: TwilioErrorBody): void {
  countRejection(stats, error.code);
  sendJson(res, error.status, error);
}

function validate(form: URLSearchParams): TwilioErrorBody | null {
  const to = form.get('To');
  if (to === null || to === '') return twilioError(21604);
  if (!E164.test(to)) return invalidToError(21211, to);
  if (!form.get('From') && !form.get('MessagingServiceSid')) return twilioError(21603);
  const body = form.get('Body') ?? '';
  // Media or a content template is a message on its own; only a message with none of them is empty.
  if (!body && !form.get('MediaUrl') && !form.get('ContentSid')) return twilioError(21602);
  // Twilio counts characters, not UTF-16 units; only long bodies pay for the exact count.
  if (body.length > MAX_BODY_CHARS && [...body].length > MAX_BODY_CHARS) return twilioError(21617);
  return null;
}

function createError(rule: FaultRule, to: string): TwilioErrorBody | null {
  if (rule.createError === undefined) return null;
  return rule.createError === 21610 ? twilioError(21610) : invalidToError(rule.createError, to);
}

function outboundMessage(form: URLSearchParams, pools: SenderPools, now: number): SandboxMessage {
  const body = form.get('Body') ?? '';
  const to = form.get('To')!;
  const mediaUrls = form.getAll('MediaUrl').filter((url) => url !== '');
  const service = form.get('MessagingServiceSid') || null;
  // An explicit From wins over the service's pool, as at Twilio.
  const from = form.get('From') || (service === null ? null : senderFor(pools, service, to));
  return {
    sid: newSid('SM'),
    provider: 'twilio',
    direction: 'outbound-api',
    to,
    from,
    body,
    messagingServiceSid: service,
    status: 'queued',
    numSegments: countSegments(body),
    numMedia: mediaUrls.length,
    mediaUrls,
    errorCode: null,
    errorMessage: null,
    price: null,
    dateCreated: now,
    dateSent: null,
    dateUpdated: now,
    statusCallback: form.get('StatusCallback') || null,
    history: [{ status: 'queued', at: now }],
    params: Object.fromEntries(form),
  };
}

export async function createMessage(
  ctx: MessagesApiContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const form = new URLSearchParams(await readBody(req));
  const rule = ctx.faults.ruleFor(form.get('To') ?? '', 'twilio');
  const respond =
    rule.latencyMs === undefined || rule.latencyMs === 0
      ? (status: number, body: unknown) => sendJson(res, status, body)
      : (status: number, body: unknown) =>
          setTimeout(() => sendJson(res, status, body), rule.latencyMs).unref();

  const outcome = ctx.faults.roll(rule);
  const rejection =
    outcome === 'rate-limited'
      ? twilioError(20429)
      : outcome === 'server-error'
        ? twilioError(ctx.faults.coin() ? 20500 : 20503)
        : (validate(form) ?? createError(rule, form.get('To')!));
  if (rejection !== null) {
    countRejection(ctx.stats, rejection.code);
    respond(rejection.status, rejection);
    return;
  }

  const message = outboundMessage(form, ctx.senderPools, Date.now());
  ctx.store.add(message);
  ctx.stats.created++;
  ctx.lifecycle.start(message, rule);
  if (outcome === 'hang') {
    // Created but never answered: the client cannot tell whether it sent.
    ctx.stats.hung++;
    return;
  }
  respond(201, toMessageResource(message, ctx.accountSid));
}

/** The stored message, or undefined after answering 404 / 20404. */
function foundMessage(ctx: MessagesApiContext, res: ServerResponse, sid: string): SandboxMessage | undefined {
  const message = ctx.store.get(sid);
  if (message === undefined) {
    const uri = `${messagesPath(ctx.accountSid)}/${sid}.json`;
    rejectWith(ctx.stats, res, twilioError(20404, `The requested resource ${uri} was not found`));
  }
  return message;
}

export function fetchMessage(ctx: MessagesApiContext, res: ServerResponse, sid: string): void {
  const message = foundMessage(ctx, res, sid);
  if (message !== undefined) sendJson(res, 200, toMessageResource(message, ctx.accountSid));
}

/** Statuses a message never leaves: only these may be redacted or deleted. */
const FINAL_STATUSES: ReadonlySet<MessageStatus> = new Set([
  'delivered',
  'undelivered',
  'failed',
  'received',
]);

function updateError(form: URLSearchParams, message: SandboxMessage): TwilioErrorBody | null {
  const body = form.get('Body');
  const status = form.get('Status');
  if ((body === null) === (status === null)) {
    return twilioError(30400, 'Give either an empty Body (to redact) or Status=canceled, not both');
  }
  if (status !== null) {
    if (status !== 'canceled') return twilioError(30400, `Invalid value for Status: ${status}`);
    // Only a scheduled message can be canceled, and the sandbox sends every message at once.
    return twilioError(30409);
  }
  if (body !== '') return twilioError(30400, 'A redaction must give an empty Body');
  if (!FINAL_STATUSES.has(message.status)) {
    return twilioError(20009, 'Cannot redact a message before it reaches a final status');
  }
  return null;
}

export async function updateMessage(
  ctx: MessagesApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  sid: string,
): Promise<void> {
  const form = new URLSearchParams(await readBody(req));
  const message = foundMessage(ctx, res, sid);
  if (message === undefined) return;
  const rejection = updateError(form, message);
  if (rejection !== null) return rejectWith(ctx.stats, res, rejection);
  message.body = '';
  // The exchanged form would still show the text on the control plane.
  if ('Body' in message.params) message.params.Body = '';
  message.dateUpdated = Date.now();
  sendJson(res, 200, toMessageResource(message, ctx.accountSid));
}

export function deleteMessage(ctx: MessagesApiContext, res: ServerResponse, sid: string): void {
  const message = foundMessage(ctx, res, sid);
  if (message === undefined) return;
  if (!FINAL_STATUSES.has(message.status)) {
    rejectWith(ctx.stats, res, twilioError(20009));
    return;
  }
  ctx.store.delete(sid);
  res.writeHead(204).end();
}

export function listMessages(ctx: MessagesApiContext, res: ServerResponse, search: URLSearchParams): void {
  const query = parseListQuery(search);
  if ('invalid' in query) {
    rejectWith(ctx.stats, res, twilioError(20001, `Invalid value for ${query.invalid}`));
    return;
  }
  const matching = ctx.store.newestFirst((m) => matchesQuery(m, query));
  sendJson(res, 200, listResponse(matching, query, search, ctx.accountSid));
}
