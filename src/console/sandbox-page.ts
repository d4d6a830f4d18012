import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Clock } from '../clock.ts';
import type { Db } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { Html, html } from '../http/html.ts';
import type { FaultRule } from '../sandbox/faults.ts';
import type { TwilioSandbox } from '../sandbox/server.ts';
import { SANDBOX_FROM_NUMBER, type SmsSetup } from '../setup/sms.ts';
import { type AuditChange, recordAudit } from './audit-log.ts';
import { CONSOLE_PATH, layout } from './layout.ts';
import { faultSection, ruleFromForm, ruleOf, withRule } from './sandbox-faults.ts';
import {
  numberTable,
  renderThread,
  summarizeNumbers,
  threadHref,
  twimlReplies,
  type WebhookAnswer,
} from './sandbox-thread.ts';
import type { ConsoleGuard } from './session-routes.ts';

export interface SandboxPageDeps {
  db: Db;
  clock: Clock;
  sms: SmsSetup;
  /** Where the service's inbound SMS webhook is, as Twilio would be told (its signature covers it). */
  inboundWebhookUrl: () => string;
}

/** Webhook answers kept for the thread (the sandbox stores the text, not what the service answered). */
const MAX_ANSWERS = 1_000;

const numberParams = z.object({
  number: z.string().regex(/^\+[1-9]\d{3,14}$/, 'a phone number in E.164 form, like +919876543210'),
});
const inboundForm = z.object({
  _csrf: z.string(),
  body: z.string().trim().min(1, 'type a text to send, or press one of the keyword buttons').max(1600),
});

function notHere(sms: SmsSetup): never {
  throw new AppError(
    'NOT_FOUND',
    sms.backend === 'twilio'
      ? 'The sandbox phone shows the built-in Twilio sandbox, and this service sends SMS through Twilio: there is no sandbox to show.'
      : "The sandbox phone shows the sandbox running inside this service, and this one uses an external sandbox (SMS_SANDBOX_URL) or has SMS off: read that sandbox's own GET /sandbox/messages.",
  );
}

/**
 * /console/sandbox: the in-process Twilio sandbox as a test phone: its messages per number, a
 * text sent back through the sandbox's inbound path (signed, to the service's webhook, as a real
 * phone's reply), and the number's faults. It calls the functions the sandbox's control API calls.
 */
export function registerSandboxPage(app: FastifyInstance, deps: SandboxPageDeps, guard: ConsoleGuard): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const sandbox = deps.sms.sandbox;
  if (!sandbox) {
    r.get('/sandbox', { schema: { hide: true }, preHandler: guard.page }, async () => notHere(deps.sms));
    r.get('/sandbox/*', { schema: { hide: true }, preHandler: guard.page }, async () => notHere(deps.sms));
    return;
  }
  const answers = new Map<string, WebhookAnswer>();
  const remember = (sid: string, answer: WebhookAnswer) => {
    answers.set(sid, answer);
    if (answers.size > MAX_ANSWERS) answers.delete(answers.keys().next().value as string);
  };
  const serviceNumber = () => deps.sms.from ?? SANDBOX_FROM_NUMBER;
  const page = (
    request: FastifyRequest,
    reply: FastifyReply,
    title: string,
    main: Html,
    scripts?: string[],
  ) =>
    reply
      .type('text/html; charset=utf-8')
      .send(layout({ title, signedIn: guard.shell(request, reply, 'sandbox'), scripts }, main));
  /*
   * The audit row commits first, the sandbox changes after: the change lives in the sandbox's memory,
   * outside any transaction. This order can log a change that then did not happen (told on the
   * page), but never make one that is not logged; the other order could, if the commit failed.
   */
  const audited = async (request: FastifyRequest, change: AuditChange) => {
    await deps.db.transaction((tx) =>
      recordAudit(tx, request.consoleOperator!, change, new Date(deps.clock.now())),
    );
  };

  r.get('/sandbox', { schema: { hide: true }, preHandler: guard.page }, async (request, reply) =>
    page(
      request,
      reply,
      'Sandbox phone',
      html`<h1>Sandbox phone</h1>
<p>The texts the built-in Twilio sandbox holds, per phone number: open one to see its thread, text back from it, or make its texts fail.</p>
${numberTable(summarizeNumbers(sandbox.messages()))}`,
    ),
  );

  r.get(
    '/sandbox/:number',
    { schema: { hide: true, params: numberParams }, preHandler: guard.page },
    async (request, reply) => {
      const { number } = request.params;
      // Forms only for admins: a viewer's post would be refused anyway.
      const csrf = request.consoleOperator?.role === 'admin' ? reply.generateCsrf() : undefined;
      const thread = renderThread(number, sandbox.messages(), answers);
      const href = threadHref(number);
      return page(
        request,
        reply,
        `Sandbox phone ${number}`,
        html`<h1>Sandbox phone: ${number}</h1>
<p><a href="${CONSOLE_PATH}/sandbox">All numbers</a> · texts from the service's number ${serviceNumber()} · <span id="live-status" role="status"></span></p>
<div class="phone">
<div role="log" aria-label="Messages with ${number}"><ol id="thread" class="thread" data-source="${href}/thread" data-version="${thread.version}">${new Html(thread.markup)}</ol></div>
${csrf ? replyForms(href, csrf) : html`<p class="note">A viewer key may look; texting back and setting faults need an admin key.</p>`}
</div>
${faultSection(`${href}/faults`, csrf, ruleOf(sandbox.faults(), number))}`,
        ['sandbox.js'],
      );
    },
  );

  r.get(
    '/sandbox/:number/thread',
    { schema: { hide: true, params: numberParams }, preHandler: guard.data },
    async (request, reply) => {
      void reply.header('cache-control', 'no-store');
      return renderThread(request.params.number, sandbox.messages(), answers);
    },
  );

  r.post(
    '/sandbox/:number/inbound',
    {
      schema: { hide: true, params: numberParams, body: inboundForm },
      preHandler: guard.change,
      preValidation: app.csrfProtection,
    },
    async (request, reply) => {
      const { number } = request.params;
      const text = { from: number, to: serviceNumber(), body: request.body.body };
      await audited(request, {
        action: 'sandbox.inbound_sent',
        targetType: 'sandbox_number',
        targetId: number,
        before: null,
        after: text,
      });
      const { sid, answer } = await sendInbound(sandbox, { ...text, url: deps.inboundWebhookUrl() });
      remember(sid, answer);
      return reply.redirect(threadHref(number), 303);
    },
  );

  const setFaults = async (request: FastifyRequest, number: string, rule: FaultRule | null) => {
    const current = sandbox.faults();
    const before = ruleOf(current, number);
    await audited(request, {
      action: rule === null ? 'sandbox.fault_cleared' : 'sandbox.fault_set',
      targetType: 'sandbox_number',
      targetId: number,
      before,
      after: rule,
    });
    sandbox.setFaults(withRule(current, number, rule));
  };

  r.post(
    '/sandbox/:number/faults',
    {
      schema: { hide: true, params: numberParams },
      preHandler: guard.change,
      preValidation: app.csrfProtection,
    },
    async (request, reply) => {
      // Parsed before anything is recorded: a refused form changes nothing and logs nothing.
      const rule = ruleFromForm((request.body ?? {}) as Record<string, unknown>);
      await setFaults(request, request.params.number, rule);
      return reply.redirect(threadHref(request.params.number), 303);
    },
  );

  r.post(
    '/sandbox/:number/faults/clear',
    {
      schema: { hide: true, params: numberParams },
      preHandler: guard.change,
      preValidation: app.csrfProtection,
    },
    async (request, reply) => {
      await setFaults(request, request.params.number, null);
      return reply.redirect(threadHref(request.params.number), 303);
    },
  );
}

function replyForms(href: string, csrf: string): Html {
  return html`<form method="post" action="${href}/inbound" class="keywords" aria-label="Reply with a keyword">
<input type="hidden" name="_csrf" value="${csrf}">
${['STOP', 'START', 'HELP', 'YES'].map((k) => html`<button type="submit" name="body" value="${k}">${k}</button>`)}
</form>
<form method="post" action="${href}/inbound" class="reply">
<input type="hidden" name="_csrf" value="${csrf}">
<label for="reply-body">Text from this phone</label>
<input id="reply-body" name="body" type="text" required maxlength="1600" autocomplete="off">
<button type="submit">Send</button>
</form>`;
}

/**
 * The text goes in as the control API's `POST /sandbox/inbound` sends it. The sandbox stores it
 * before its first await, so the newest message right after the call is this one: its sid pairs
 * the webhook's answer with the bubble. A webhook that fails is an answer too, shown in the thread.
 */
async function sendInbound(
  sandbox: TwilioSandbox,
  sms: { from: string; to: string; body: string; url: string },
): Promise<{ sid: string; answer: WebhookAnswer }> {
  const sent = sandbox.sendInbound(sms);
  const sid = sandbox.messages()[0]?.sid ?? '';
  try {
    const response = await sent;
    return { sid, answer: { status: response.status, replies: twimlReplies(response.body) } };
  } catch (err) {
    return { sid, answer: { status: 0, replies: [], error: String(err) } };
  }
}
