/**
 * An A/B test's figures per variant, from the deliveries its texts were sent in
 * (deliveries.template_variant_id, migration 0032), and how sure they are that a variant is better
 * (templates/variant-confidence.ts). Read on demand: a test is looked at by an operator, not on
 * every send. Promotion (authoring/variant-tests.ts) is judged on this report.
 */
import { and, desc, eq, sql } from 'drizzle-orm';
import {
  onTemplate,
  promoteVariant,
  type TestKey,
  type VariantMetric,
  type VariantText,
} from '../authoring/variant-tests.ts';
import { type Db, type Queryable, queryRows } from '../db/database.ts';
import { templateVariantGroups, templateVariants } from '../db/schema.ts';
import { AppError } from '../errors.ts';
import type { TemplateStore } from '../templates/template-store.ts';
import { type Proportion, type Verdict, verdictFor } from '../templates/variant-confidence.ts';

export interface VariantFigures extends VariantText {
  /** Deliveries that reached the provider (sent or delivered). */
  sent: number;
  delivered: number;
  failed: number;
  delivered_rate: number | null;
  /** Deliveries answered with a two-way YES confirmation (inbound/sms-replies.ts links it). */
  replies: number;
  reply_rate: number | null;
  /** Deliveries answered with STOP: users the text lost. */
  opt_outs: number;
  /** Segments sent: a UCS-2 variant needs more for the same text length, and costs more. */
  segments: number;
  /** Estimated cost per currency, as the deliveries recorded it. */
  cost: Record<string, string>;
  /** Clicks on the tracked links of its sends by people (link previews and crawlers left out). */
  clicks: number;
  /** This variant against the best of the others, on the test's metric. */
  verdict: Verdict | undefined;
}

export interface VariantReport {
  group_id: number;
  type: string;
  channel: string;
  locale: string;
  status: 'running' | 'promoted' | 'stopped';
  metric: VariantMetric;
  required_confidence: number;
  promoted_variant: string | null;
  created_at: string;
  ended_at: string | null;
  variants: VariantFigures[];
}

interface FigureRow {
  id: string;
  sent: number;
  delivered: number;
  failed: number;
  replies: number;
  opt_outs: number;
  segments: number;
  cost: Record<string, string> | null;
  clicks: number;
}

/** One row per variant; replies and STOPs are the inbound texts linked to the delivery's notification. */
const FIGURES = (groupId: number) => sql`
  select v.id::text as id,
    count(d.sent_at)::int as sent,
    count(*) filter (where d.status = 'delivered')::int as delivered,
    count(*) filter (where d.status = 'failed')::int as failed,
    count(*) filter (where exists (select 1 from inbound_sms i
      where i.notification_id = d.notification_id and i.confirmed))::int as replies,
    count(*) filter (where exists (select 1 from inbound_sms i
      where i.notification_id = d.notification_id and i.keyword = 'STOP'))::int as opt_outs,
    coalesce(sum((d.details ->> 'segments')::int) filter (where d.sent_at is not null), 0)::int as segments,
    (select jsonb_object_agg(c.currency, c.amount::text) from (
      select x.cost_currency as currency, sum(x.cost_amount) as amount from deliveries x
      where x.template_variant_id = v.id and x.cost_amount is not null and x.sent_at is not null
      group by x.cost_currency) c) as cost,
    (select count(*) from link_clicks k join deliveries x on x.id = k.delivery_id
      where x.template_variant_id = v.id and k.client_class <> 'bot')::int as clicks
  from template_variants v
  left join deliveries d on d.template_variant_id = v.id
  where v.group_id = ${groupId}
  group by v.id`;

const rate = (part: number, whole: number) => (whole === 0 ? null : part / whole);

/** The metric as a proportion of sends, for the z-test. */
function proportionOf(
  f: Pick<VariantFigures, 'sent' | 'delivered' | 'replies'>,
  metric: VariantMetric,
): Proportion {
  return { successes: metric === 'delivered' ? f.delivered : f.replies, trials: f.sent };
}

/** The running test on a template (or its test `groupId`), else its latest ended one; VARIANT_TEST_NOT_FOUND when none. */
export async function variantReport(
  q: Queryable,
  k: TestKey,
  requiredConfidence: number,
  groupId?: number,
): Promise<VariantReport> {
  const [group] = await q
    .select()
    .from(templateVariantGroups)
    .where(and(...onTemplate(k), groupId === undefined ? undefined : eq(templateVariantGroups.id, groupId)))
    .orderBy(sql`${templateVariantGroups.status} = 'running' desc`, desc(templateVariantGroups.id))
    .limit(1);
  if (!group) {
    throw new AppError(
      'VARIANT_TEST_NOT_FOUND',
      `No A/B test on the ${k.channel} template of ${k.type} (${k.locale})`,
    );
  }
  const variants = await q
    .select()
    .from(templateVariants)
    .where(eq(templateVariants.groupId, group.id))
    .orderBy(templateVariants.label);
  const figures = new Map((await queryRows<FigureRow>(q, FIGURES(group.id))).map((r) => [Number(r.id), r]));
  const counted = variants.map((v) => {
    const f = figures.get(v.id)!;
    return {
      id: v.id,
      label: v.label,
      weight: v.weight,
      fields: v.fields,
      dlt_template_id: v.dltTemplateId,
      dlt_text: v.dltText,
      sent: f.sent,
      delivered: f.delivered,
      failed: f.failed,
      delivered_rate: rate(f.delivered, f.sent),
      replies: f.replies,
      reply_rate: rate(f.replies, f.sent),
      opt_outs: f.opt_outs,
      segments: f.segments,
      cost: f.cost ?? {},
      clicks: f.clicks,
    };
  });
  return {
    group_id: group.id,
    type: group.type,
    channel: group.channel,
    locale: group.locale,
    status: group.status,
    metric: group.metric,
    required_confidence: requiredConfidence,
    promoted_variant: variants.find((v) => v.id === group.promotedVariantId)?.label ?? null,
    created_at: group.createdAt.toISOString(),
    ended_at: group.endedAt?.toISOString() ?? null,
    variants: counted.map((v) => ({
      ...v,
      verdict: verdictFor(
        proportionOf(v, group.metric),
        counted
          .filter((o) => o.id !== v.id)
          .map((o) => ({ label: o.label, ...proportionOf(o, group.metric) })),
      ),
    })),
  };
}

/** Every running test and the latest ended ones, newest first: the console's A/B page. */
export async function listVariantTests(
  q: Queryable,
  requiredConfidence: number,
  limit = 20,
): Promise<VariantReport[]> {
  const groups = await q
    .select()
    .from(templateVariantGroups)
    .orderBy(sql`${templateVariantGroups.status} = 'running' desc`, desc(templateVariantGroups.id))
    .limit(limit);
  return Promise.all(groups.map((g) => variantReport(q, g, requiredConfidence, g.id)));
}

/** Promotes on the figures as they are now (authoring/variant-tests.ts judges them); answers the ended test. */
export async function promoteOnFigures(
  db: Db,
  templates: TemplateStore,
  k: TestKey,
  input: Parameters<typeof promoteVariant>[4],
): Promise<{ version: number | null; forced: boolean; report: VariantReport }> {
  const figures = await variantReport(db, k, input.requiredConfidence);
  const promoted = await promoteVariant(db, templates, k, figures, input);
  return { ...promoted, report: await variantReport(db, k, input.requiredConfidence) };
}
