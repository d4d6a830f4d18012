/**
 * The work of the CLI commands that need the database, each as one function of an OperatorContext.
 * The same function runs in one of two places: in the CLI process on a database it opened itself
 * (direct), or inside a running `serve` that holds the embedded data directory, asked over the
 * operator socket (operator-socket.ts). One code path for the logic, two transports.
 *
 * The list is fixed and small on purpose: each operation takes and returns plain JSON, its input is
 * checked here (whichever transport it came by), and there is no way to run anything else, SQL
 * least of all. Printing stays with the command: operations return data, never text.
 */
import { z } from 'zod';
import {
  API_KEY_ROLES,
  createApiKey,
  listApiKeys,
  MAX_ROTATION_OVERLAP_SECONDS,
  revokeApiKey,
  rotateApiKey,
} from '../auth/api-keys.ts';
import {
  activeTemplatesOfType,
  loadTemplatesIntoDb,
  TemplateLoadError,
} from '../authoring/load-templates.ts';
import { lastRetentionRun, runRetention } from '../retention/run-retention.ts';
import { deliveryStats } from '../stats/delivery-stats.ts';
import { StatsWindowError, statsQuery, windowFromQuery } from '../stats/stats-window.ts';
import { TEMPLATE_FIELDS } from '../templates/template-files.ts';
import * as campaigns from './campaign-operations.ts';
import { OperationRefused, type OperatorContext } from './context.ts';
import { smsStatus, testSmsToPhone, testSmsToUser } from './sms-operations.ts';
import { VARIANT_OPERATIONS } from './variant-operations.ts';

export { OperationRefused, type OperatorContext } from './context.ts';

const id = z.number().int().positive();
/** A retention window; 0 keeps that kind. */
const days = z.number().int().min(0);
const templateSet = z.strictObject({
  type: z.string(),
  locale: z.string(),
  fields: z.record(z.enum(TEMPLATE_FIELDS), z.string()),
  dltTemplateId: z.string().optional(),
  dltText: z.string().optional(),
});

const op = <S extends z.ZodType, R>(
  input: S,
  run: (ctx: OperatorContext, input: z.infer<S>) => Promise<R>,
) => ({
  input,
  run,
});

export const OPERATIONS = {
  stats: op(statsQuery, async (ctx, query) => {
    const now = new Date(ctx.clock.now());
    try {
      return await deliveryStats(
        await ctx.db(),
        windowFromQuery(query, ctx.config.STATS_TIME_ZONE, now),
        now,
      );
    } catch (err) {
      if (err instanceof StatsWindowError) throw new OperationRefused(err.message);
      throw err;
    }
  }),
  'keys.list': op(z.strictObject({}), async (ctx) => ({ keys: await listApiKeys(await ctx.db()) })),
  'keys.create': op(
    z.strictObject({ name: z.string().trim().min(1), role: z.enum(API_KEY_ROLES) }),
    async (ctx, { name, role }) => ({ key: await createApiKey(await ctx.db(), name, role), name, role }),
  ),
  'keys.revoke': op(z.strictObject({ id }), async (ctx, input) => revokeApiKey(await ctx.db(), input.id)),
  'keys.rotate': op(
    z.strictObject({ id, overlapSeconds: z.number().int().min(0).max(MAX_ROTATION_OVERLAP_SECONDS) }),
    async (ctx, input) => rotateApiKey(await ctx.db(), input.id, input.overlapSeconds),
  ),
  'templates.load': op(z.strictObject({ sets: z.array(templateSet) }), async (ctx, { sets }) => {
    let summary: Awaited<ReturnType<typeof loadTemplatesIntoDb>>;
    try {
      summary = await loadTemplatesIntoDb(await ctx.db(), sets, {
        createdBy: 'cli:load-notification-templates',
        onProgress: ctx.onProgress,
      });
    } catch (err) {
      if (err instanceof TemplateLoadError) throw new OperationRefused(`${err.message}. Nothing was loaded.`);
      throw err;
    }
    return { ...summary, inUse: await ctx.templatesChanged() };
  }),
  'templates.check': op(z.strictObject({ type: z.string() }), async (ctx, { type }) => ({
    rows: await activeTemplatesOfType(await ctx.db(), type),
  })),
  'sms.test-user': op(z.strictObject({ email: z.string() }), testSmsToUser),
  'sms.test-phone': op(z.strictObject({ to: z.string(), body: z.string() }), testSmsToPhone),
  // The command's own settings (its config, or --days), whichever process runs it.
  'retention.run': op(
    z.strictObject({
      windows: z.strictObject({ notifications: days, inboundSms: days }),
      batchSize: z.number().int().min(1).max(50_000),
      pauseMs: z.number().int().min(0),
      dryRun: z.boolean(),
    }),
    async (ctx, settings) =>
      runRetention(
        { database: await ctx.database(), clock: ctx.clock },
        { ...settings, ...(ctx.onRetentionBatch ? { onBatch: ctx.onRetentionBatch } : {}) },
      ),
  ),
  'retention.status': op(z.strictObject({}), async (ctx) => lastRetentionRun(await ctx.database())),
  'campaigns.create': op(campaigns.createOp.input, campaigns.createOp.run),
  'campaigns.estimate': op(campaigns.estimateOp.input, campaigns.estimateOp.run),
  'campaigns.action': op(campaigns.actionOp.input, campaigns.actionOp.run),
  'campaigns.status': op(campaigns.statusOp.input, campaigns.statusOp.run),
  'campaigns.list': op(campaigns.listOp.input, campaigns.listOp.run),
  'sms.status': op(z.strictObject({ sid: z.string().regex(/^[A-Z]{2}[0-9a-fA-F]{32}$/) }), smsStatus),
  ...VARIANT_OPERATIONS,
} as const;

export type OperationName = keyof typeof OPERATIONS;
export type OperationInput<N extends OperationName> = z.input<(typeof OPERATIONS)[N]['input']>;
export type OperationResult<N extends OperationName> = Awaited<ReturnType<(typeof OPERATIONS)[N]['run']>>;

export function isOperationName(name: string): name is OperationName {
  return Object.hasOwn(OPERATIONS, name);
}

/** Check the input, then run the operation; a bad input is refused, as a usage mistake would be. */
export async function runOperation<N extends OperationName>(
  ctx: OperatorContext,
  name: N,
  input: unknown,
): Promise<OperationResult<N>> {
  const operation = OPERATIONS[name] as unknown as {
    input: z.ZodType;
    run: (ctx: OperatorContext, input: unknown) => Promise<OperationResult<N>>;
  };
  const parsed = operation.input.safeParse(input);
  if (!parsed.success) {
    throw new OperationRefused(
      `${name}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ')}`,
    );
  }
  return operation.run(ctx, parsed.data);
}
