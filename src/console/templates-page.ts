import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type FieldEdit, saveTemplateEdit } from '../authoring/template-edit.ts';
import { previewTemplate } from '../authoring/template-preview.ts';
import { CHANNELS, NOTIFICATION_TYPE_NAMES, requireNotificationType } from '../catalog/catalog.ts';
import type { Clock } from '../clock.ts';
import type { Db } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { type Html, html } from '../http/html.ts';
import type { SmsSetup } from '../setup/sms.ts';
import { LOCALES, TEMPLATE_FIELDS } from '../templates/template-files.ts';
import type { TemplateStore } from '../templates/template-store.ts';
import { text } from '../text.ts';
import { recordAudit } from './audit-log.ts';
import { layout } from './layout.ts';
import type { ConsoleOperator } from './session.ts';
import type { ConsoleGuard } from './session-routes.ts';
import { fieldChannel, templateRows, templateVersions } from './templates-data.ts';
import { type EditorView, editorMain } from './templates-editor.ts';
import { previewPanel, templateListMain, templatePath } from './templates-views.ts';

export interface TemplatePagesDeps {
  db: Db;
  templates: TemplateStore;
  sms: SmsSetup;
  clock: Clock;
}

const keyParams = z
  .object({ type: z.string().min(1).max(64), locale: z.enum(LOCALES), field: z.enum(TEMPLATE_FIELDS) })
  .strict();
type Key = z.infer<typeof keyParams>;

const orEmpty = <T extends z.ZodType>(schema: T) => z.union([z.literal(''), schema]).optional();
const listQuery = z
  .object({
    type: orEmpty(z.enum(NOTIFICATION_TYPE_NAMES as [string, ...string[]])),
    channel: orEmpty(z.enum(CHANNELS)),
    locale: orEmpty(z.enum(LOCALES)),
    lint: orEmpty(z.enum(['ok', 'warnings', 'errors'])),
  })
  .strict();

const editorQuery = z
  .object({
    diff: z.coerce.number().int().positive().optional(),
    saved: z.coerce.number().int().positive().optional(),
    reverted: z.coerce.number().int().positive().optional(),
    from: z.coerce.number().int().positive().optional(),
    unchanged: z.literal('1').optional(),
  })
  .strict();

// A browser submits a textarea's line breaks as CRLF; templates are stored with LF, as the files are.
const formText = (max: number) =>
  text()
    .max(max)
    .transform((s) => s.replace(/\r\n?/g, '\n'));
const saveBody = z
  .object({
    _csrf: z.string(),
    source: formText(5000).pipe(z.string().min(1, 'must not be empty')),
    dlt_template_id: formText(32).optional(),
    dlt_text: formText(2000).optional(),
  })
  .strict();
const previewBody = saveBody.omit({ _csrf: true }).extend(keyParams.shape).strict();
const revertBody = z.object({ _csrf: z.string(), version: z.coerce.number().int().positive() }).strict();
const testBody = z.object({ _csrf: z.string(), to: text().trim().min(1).max(20) }).strict();

/** Refusals a person fixes in the text (the page again with why); anything else is an error page. */
const REFUSALS = new Set(['TEMPLATE_INVALID', 'TEMPLATE_LIMIT_EXCEEDED', 'SMS_DLT_MISMATCH']);

/** The type exists and sends on the field's channel (review_request has no SMS text to edit). */
function requireEditable(key: Key) {
  const def = requireNotificationType(key.type);
  if (!def.channels.includes(fieldChannel(key.field)))
    throw new AppError('TEMPLATE_NOT_FOUND', `${key.type} is not sent by ${fieldChannel(key.field)}`);
  return def;
}

/** An empty DLT box clears the registration; the boxes exist only beside an SMS text. */
function toEdit(key: Key, b: { source: string; dlt_template_id?: string; dlt_text?: string }): FieldEdit {
  const edit: FieldEdit = { ...key, source: b.source };
  if (key.field !== 'sms') return edit;
  if (b.dlt_template_id !== undefined) edit.dltTemplateId = b.dlt_template_id.trim() || null;
  if (b.dlt_text !== undefined) edit.dltText = b.dlt_text.trim() ? b.dlt_text : null;
  return edit;
}

const targetId = (key: Key) => `${key.type}/${key.locale}/${key.field}`;
const createdBy = (operator: ConsoleOperator) => `console:${operator.name} (api-key:${operator.apiKeyId})`;

/**
 * /console/templates: the list with lint status, and one field's editor with live preview, history,
 * diff, revert and a sandbox test send. Saving goes through the API's own save (template-edit.ts),
 * with the audit entry in its transaction.
 */
export function registerTemplatePages(
  app: FastifyInstance,
  deps: TemplatePagesDeps,
  guard: ConsoleGuard,
): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const sandboxTests = deps.sms.backend === 'sandbox' && deps.sms.service.configured;
  const sendHtml = (
    reply: FastifyReply,
    status: number,
    title: string,
    main: Html,
    request: FastifyRequest,
    scripts: string[] = [],
  ) =>
    reply
      .code(status)
      .type('text/html; charset=utf-8')
      .send(layout({ title, signedIn: guard.shell(request, reply, 'templates'), scripts }, main));

  const editor = async (
    request: FastifyRequest,
    reply: FastifyReply,
    key: Key,
    extra: Partial<Pick<EditorView, 'notice' | 'refused' | 'diff'>> & { edit?: FieldEdit } = {},
    status = 200,
  ) => {
    const def = requireEditable(key);
    const active = deps.templates.get(key.type, key.field, key.locale)!;
    const canChange = request.consoleOperator!.role === 'admin';
    const view: EditorView = {
      key,
      def,
      source: extra.edit?.source ?? active.source,
      dltTemplateId:
        extra.edit?.dltTemplateId === undefined
          ? active.dltTemplateId
          : (extra.edit.dltTemplateId ?? undefined),
      dltText: extra.edit?.dltText === undefined ? active.dltText : (extra.edit.dltText ?? undefined),
      activeVersion: active.version,
      preview: await previewTemplate(deps.templates, extra.edit ?? key, deps.sms.prices),
      versions: await templateVersions(deps.db, key),
      diff: extra.diff,
      canChange,
      csrfToken: reply.generateCsrf(),
      notice: extra.notice,
      refused: extra.refused,
      testSend: canChange && sandboxTests && key.field === 'sms',
    };
    return sendHtml(reply, status, `Template ${targetId(key)}`, editorMain(view), request, ['templates.js']);
  };

  r.get(
    '/templates',
    { schema: { hide: true, querystring: listQuery }, preHandler: guard.page },
    async (request, reply) => {
      // An empty select ("All") arrives as an empty parameter: no filter.
      const q = Object.fromEntries(Object.entries(request.query).filter(([, v]) => v !== ''));
      const main = templateListMain(await templateRows(deps.templates), q);
      return sendHtml(reply, 200, 'Templates', main, request);
    },
  );

  // A POST (the text can be 5,000 characters) that changes nothing, yet carries the CSRF header like
  // every console POST: another site cannot make a signed-in browser spend the server's render time.
  r.post(
    '/templates/preview',
    { schema: { hide: true, body: previewBody }, preHandler: guard.data, preValidation: app.csrfProtection },
    async (request) => {
      const b = request.body;
      requireEditable(b);
      const preview = await previewTemplate(deps.templates, toEdit(b, b), deps.sms.prices);
      return { preview, html: previewPanel(preview, b.field).value };
    },
  );

  r.get(
    '/templates/:type/:locale/:field',
    { schema: { hide: true, params: keyParams, querystring: editorQuery }, preHandler: guard.page },
    async (request, reply) => {
      const q = request.query;
      const notice = q.saved
        ? html`Saved as version ${q.saved}; new messages use it now.`
        : q.reverted
          ? html`Reverted: version ${q.reverted} is a copy of version ${q.from ?? '?'} and is active now.`
          : q.unchanged
            ? html`Nothing changed: the text equals the active version, so no version was made.`
            : undefined;
      return editor(request, reply, request.params, { notice, diff: q.diff });
    },
  );

  const save = async (
    request: FastifyRequest,
    reply: FastifyReply,
    key: Key,
    edit: FieldEdit,
    audit: { action: string; revertedFrom?: number },
  ) => {
    const operator = request.consoleOperator!;
    try {
      const saved = await saveTemplateEdit(deps.db, deps.templates, edit, {
        createdBy: createdBy(operator),
        onSaved: (tx, s) =>
          recordAudit(
            tx,
            operator,
            {
              action: audit.action,
              targetType: 'template',
              targetId: targetId(key),
              before: { version: s.before.version, source: s.before.source },
              after: {
                version: s.version,
                source: edit.source,
                ...(audit.revertedFrom && { reverted_from: audit.revertedFrom }),
              },
            },
            new Date(deps.clock.now()),
          ),
      });
      const next = !saved.changed
        ? 'unchanged=1'
        : audit.revertedFrom
          ? `reverted=${saved.version}&from=${audit.revertedFrom}`
          : `saved=${saved.version}`;
      return reply.redirect(`${templatePath(key)}?${next}`, 303);
    } catch (err) {
      if (!(err instanceof AppError && REFUSALS.has(err.code))) throw err;
      return editor(request, reply, key, { edit, refused: [`${err.code}: ${err.message}`] }, 422);
    }
  };

  r.post(
    '/templates/:type/:locale/:field',
    {
      schema: { hide: true, params: keyParams, body: saveBody },
      preHandler: guard.change,
      preValidation: app.csrfProtection,
    },
    async (request, reply) => {
      requireEditable(request.params);
      return save(request, reply, request.params, toEdit(request.params, request.body), {
        action: 'template.saved',
      });
    },
  );

  // A revert is a new version with the old text: history is never rewritten.
  r.post(
    '/templates/:type/:locale/:field/revert',
    {
      schema: { hide: true, params: keyParams, body: revertBody },
      preHandler: guard.change,
      preValidation: app.csrfProtection,
    },
    async (request, reply) => {
      const key = request.params;
      requireEditable(key);
      const old = (await templateVersions(deps.db, key)).find((v) => v.version === request.body.version);
      if (!old)
        throw new AppError('TEMPLATE_NOT_FOUND', `${targetId(key)} has no version ${request.body.version}`);
      const edit: FieldEdit = { ...key, source: old.source };
      if (key.field === 'sms')
        Object.assign(edit, { dltTemplateId: old.dltTemplateId, dltText: old.dltText });
      return save(request, reply, key, edit, { action: 'template.reverted', revertedFrom: old.version });
    },
  );

  r.post(
    '/templates/:type/:locale/:field/test',
    {
      schema: { hide: true, params: keyParams, body: testBody },
      preHandler: guard.change,
      preValidation: app.csrfProtection,
    },
    async (request, reply) => {
      const key = request.params;
      requireEditable(key);
      // Never a real phone from a button: only the sandbox backend takes test sends.
      if (key.field !== 'sms' || !sandboxTests)
        throw new AppError(
          'FORBIDDEN',
          'Test sends go to the SMS sandbox only, and it is not the backend here.',
        );
      const preview = await previewTemplate(deps.templates, key, deps.sms.prices);
      const body = preview.rendered.sms;
      if (body === undefined)
        return editor(
          request,
          reply,
          key,
          { refused: [`The saved text does not render: ${preview.errors.sms?.detail}`] },
          422,
        );
      const result = await deps.sms.service.sendSms(request.body.to, body);
      const active = deps.templates.get(key.type, key.field, key.locale)!;
      await recordAudit(
        deps.db,
        request.consoleOperator!,
        {
          action: 'template.test_sent',
          targetType: 'template',
          targetId: targetId(key),
          before: null,
          after: {
            version: active.version,
            to: request.body.to,
            ...(result.success
              ? { sid: result.message_sid, status: result.status }
              : { error: result.error }),
          },
        },
        new Date(deps.clock.now()),
      );
      const notice = result.success
        ? html`Test sent to ${result.to}: <code id="test-sid">${result.message_sid}</code>, status <strong id="test-status">${result.status}</strong>.`
        : undefined;
      return editor(
        request,
        reply,
        key,
        result.success ? { notice } : { refused: [`Test not sent: ${result.error}`] },
        result.success ? 200 : 422,
      );
    },
  );
}
