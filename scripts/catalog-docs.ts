import { readFileSync, writeFileSync } from 'node:fs';
import { NOTIFICATION_TYPES } from '../src/catalog/catalog.ts';
import { describeDeliveryRules } from '../src/catalog/delivery-rules.ts';
import { deliveryErrorAnchor, describeDeliveryError } from '../src/channels/delivery-error-info.ts';
import { DELIVERY_ERRORS, type DeliveryErrorEntry, SKIP_REASONS } from '../src/channels/delivery-errors.ts';
import { analyzeSms } from '../src/channels/sms/segments.ts';
import { TWILIO_ERRORS } from '../src/channels/sms/twilio-errors.ts';
import {
  VONAGE_RECEIPT_ERRORS,
  VONAGE_SEND_STATUSES,
  vonageReceiptErrorCode,
  vonageSendErrorCode,
} from '../src/channels/sms/vonage/vonage-errors.ts';
import { EVENT_ROUTES } from '../src/events/event-map.ts';
import { FIELD_KIND_DOCS } from '../src/notifications/context-schema.ts';
import { buildTemplateContext } from '../src/templates/render.ts';
import { renderTemplate } from '../src/templates/render-pool.ts';
import { TemplateStore } from '../src/templates/template-store.ts';
import { replaceSection } from './doc-section.ts';

/**
 * docs/templates.md and docs/events.md are generated from the catalog, the template files and the
 * event table (and docs/errors.md's delivery errors from their catalogue), so they cannot drift: `node scripts/catalog-docs.ts` rewrites them, and a test
 * fails when they are out of date.
 */
/** docs/templates.md#ab-variants: prose, kept here because the whole page is generated. */
const AB_VARIANTS_SECTION = [
  '## A/B variants',
  '',
  'A template (type × channel × locale) can run an A/B test: two to ten **variants** with weights',
  '(`A 50 / B 50`, or `1 / 1 / 2`), each a full text for the channel, checked exactly as a saved',
  'template is (Liquid, render limits, the SMS lint with encoding and segments, the DLT rule: a',
  'variant whose text no longer matches its DLT template needs its own `dlt_text` and',
  '`dlt_template_id`). A field a variant leaves out keeps the active text, so `{"fields": {}}` is the',
  'control. Tests run on the SMS channel (rendered at send time, where the variant is chosen); one',
  'test at a time per template (`409 VARIANT_TEST_RUNNING`), on a locale that has its own template.',
  '',
  '**Assignment is sticky.** A user gets the variant whose share of the weights holds',
  '`SHA-256(group id : user id)` read as a number in [0, 1) (src/templates/variant-assignment.ts):',
  'the same variant on every send and in every process for as long as the weights are unchanged.',
  'It is keyed by the test (its group id), not by the template, so two tests split users',
  "independently, and a template that is not a type's (a campaign's) can have a test of its own.",
  'New weights (`PATCH`) split users again: some then move to another variant. The variant is',
  'recorded on the delivery (`deliveries.template_variant_id`, and `details.variant`: id, group,',
  'label) and in its timeline ("via twilio (…); A/B variant B").',
  '',
  '**Figures per variant** (`GET …/variants`): `sent` (reached the provider), `delivered`,',
  '`failed`, `delivered_rate`, `replies` (sends answered with a two-way YES confirmation),',
  '`reply_rate`, `opt_outs` (sends answered with STOP), `segments` and `cost` per currency (a UCS-2',
  'variant needs more segments for the same length, and costs more), and `clicks` (GETs of the',
  'tracked links in its sends, link previews and crawlers left out). Each variant has a `verdict`: a pooled two-proportion z-test of its rate on the',
  "test's `metric` (`delivered`, the default, or `replies`) against the best of the others, with",
  '`z`, the two-sided `p_value`, and `confidence` = 1 − p when it leads (0 when it does not).',
  '',
  '**Promote** (`POST …/variants/promote {"variant": "B"}`) makes the variant\'s text the new active',
  'version (the old one is kept, retired) and ends the test. It is refused with',
  "`409 VARIANT_NOT_CONFIDENT`, carrying every variant's figures and the verdict, unless the variant",
  'leads at `TEMPLATE_VARIANT_CONFIDENCE` (default 0.95). `"force": true` promotes anyway; the audit',
  'log (console → Audit) records `template.variant_force_promoted` with the figures it overrode (a',
  'confident promotion is `template.variant_promoted`). `DELETE …/variants` stops a test without',
  'promoting; its figures stay readable.',
  '',
  'A test is read into memory by the process that starts, changes or ends it (the embedded `serve`, or',
  'the API node asked); like a template edit, other nodes on PostgreSQL (the `worker` nodes, which',
  'render the SMS) see it when they next read templates, at start-up: restart them after a change.',
  '',
  '| request | does |',
  '|---|---|',
  '| `POST /api/v1/templates/{type}/{locale}/sms/variants` | start: `{"metric": "replies", "variants": [{"label": "A", "weight": 50, "fields": {}}, {"label": "B", "weight": 50, "fields": {"sms": "…"}}]}` → 201 with each variant\'s lint |',
  '| `GET …/variants` | the running test (else the latest), figures and verdicts |',
  '| `PATCH …/variants` | `{"weights": {"A": 70, "B": 30}}` |',
  '| `POST …/variants/promote` | `{"variant": "B", "force": false}` |',
  '| `DELETE …/variants` | stop without promoting |',
  '',
  'The CLI does the same: `templates variants show|start|weights|promote|stop <type>` (`--help`).',
];

export async function templatesDoc(): Promise<string> {
  const store = new TemplateStore();
  const lines = [
    '# Notification types and templates',
    '',
    '<!-- Generated by `node scripts/catalog-docs.ts` from src/catalog/catalog.ts and templates/. Do not edit. -->',
    '',
    'Templates are LiquidJS (`{{ order.order_number }}`), one JSON file per type and locale in',
    '`templates/<locale>/<type>.json` (English `en`, Hindi `hi`, Tamil `ta`; a missing locale falls back',
    'to English) with the fields `sms`, `email_subject`, `email_text`, `email_html`, `in_app_title`,',
    '`in_app_body`, `push_title`, `push_body`, and for India DLT optionally `dlt_template_id` and',
    '`dlt_text`. `load-notification-templates` loads them into the database, where admins can edit them',
    '(every version kept, one active). A variable missing from the context fails that delivery with',
    '`TEMPLATE_MISSING_VAR` naming the variable; nothing is sent with a blank. User data is output',
    'literally: Liquid tags inside it are never executed. Priorities: **critical** is sent at once,',
    '**regular** waits for the end of quiet hours, **digest** may be batched. `link` is the page a',
    "notification is about (its email's button), rendered with its context; a digest links each item there.",
    '',
    '| type | category | priority | recipient | channels | variables | link |',
    '|---|---|---|---|---|---|---|',
    ...NOTIFICATION_TYPES.map(
      (t) =>
        `| \`${t.name}\` | ${t.category} | ${t.priority} | ${t.recipient} | ${t.channels.join(', ')} | ${t.variables.map((v) => `\`${v}\``).join(', ')} | \`${t.link}\` |`,
    ),
    '',
    '## Delivery rules',
    '',
    'Rules per type (src/catalog/delivery-rules.ts), checked when the catalog loads: a rule naming a',
    'channel the type does not use, or a delay past its maximum, stops the service at start-up.',
    '',
    '| type | rules |',
    '|---|---|',
    ...NOTIFICATION_TYPES.map((t) => {
      const rules = describeDeliveryRules(t.rules);
      return `| \`${t.name}\` | ${rules.length > 0 ? rules.join('; ') : '—'} |`;
    }),
    '',
    ...AB_VARIANTS_SECTION,
    '',
    '## Examples (English SMS with the sample context)',
    '',
  ];
  for (const t of NOTIFICATION_TYPES) {
    const template = store.get(t.name, 'sms', 'en');
    if (!template) continue;
    const context = buildTemplateContext(
      { firstName: null, lastName: null, email: null, locale: 'en' },
      t.sampleContext,
    );
    const text = await renderTemplate(template.source, context);
    const a = analyzeSms(text);
    lines.push(
      `### \`${t.name}\``,
      '',
      t.description,
      '',
      '```',
      template.source,
      '```',
      '',
      `→ ${text}`,
      '',
    );
    lines.push(
      `${a.encoding}, ${a.characters} characters, ${a.segments} segment${a.segments > 1 ? 's' : ''}.`,
      '',
    );
  }
  return lines.join('\n');
}

export function eventsDoc(): string {
  const rows = Object.entries(EVENT_ROUTES).map(([key, route]) => {
    const [type, status] = key.split(':');
    const fields = [...(status ? ['`status`'] : []), ...route.fields.map((f) => `\`${f.path}\` ${f.kind}`)];
    return `| \`${type}\` | ${status ? `\`${status}\`` : ''} | \`${route.type}\` | ${route.recipients.join(', ')} | ${fields.join(', ')} |`;
  });
  const kinds = Object.entries(FIELD_KIND_DOCS).map(([kind, doc]) => `- ${kind}: ${doc}`);
  const cancelling = Object.entries(EVENT_ROUTES).flatMap(([key, route]) => {
    if (!route.cancels) return [];
    const [type, status] = key.split(':');
    return [
      `\`${type}\`${status ? ` to \`${status}\`` : ''} first cancels every waiting notification whose cancel key is its \`data.${route.cancels}\`, then notifies.`,
    ];
  });
  return [
    '# Events API',
    '',
    '<!-- Generated by `node scripts/catalog-docs.ts` from src/events/event-map.ts. Do not edit. -->',
    '',
    '`POST /api/v1/events` with an API key reports what happened in the marketplace; the service',
    "notifies the event's recipients. The body: `type`, the recipients' ids (`customer_id`,",
    '`partner_id`, or `user_id` for `user.*` events), `data` (the template variables: `order`,',
    '`payment`, `refund`…; `status` for `order.status_changed`) and optionally `id`.',
    '',
    'Idempotency: an `Idempotency-Key` header (or the event `id`) makes a retried event harmless: at',
    'most one notification per recipient per key. The answer is 202 with the notifications created, or',
    '200 when everything already existed. An unknown event type or order status is a 422 listing what',
    'is accepted; a missing recipient id is a 400 naming the field. When one recipient fails after',
    'another was notified (`order.status_changed` to `cancelled` naming a partner that does not exist:',
    "404 `USER_NOT_FOUND`), the customer's notification stays created and the error lists it in",
    "`notifications`, as a batch's result for the same event would; a retry with the same key replays it",
    'and creates the rest.',
    '',
    'Many at once: `POST /api/v1/events/batch` takes up to 1,000 events, one result each ([batches.md](batches.md)).',
    '',
    'Later: `send_at` (an instant with its offset, or `{"local": "2027-01-18T08:00"}` in each',
    "recipient's time zone) schedules the event's notifications, and `cancel_key` gives them a key",
    'that cancels them while they wait ([scheduling.md](scheduling.md)).',
    ...cancelling,
    '',
    "Each event's `data` must hold every value its templates print (the last column), of its kind;",
    'other keys pass through untouched. A missing, blank (empty or only spaces), `null`, object or',
    'array value where a template prints text, or a string where it prints a number, is a 400',
    '`VALIDATION_FAILED` whose `errors` name the field (`body.data.order.order_number: must not be',
    'blank`), and nobody is notified: an email never says "order #". `order.status_changed` without a',
    '`data.status` is a 400 naming `body.data.status`; an unknown top-level field is a 400 naming it',
    "(`body.colour: is not a known field`). The recipient's own `first_name` comes from their user",
    'record, never from `data`. Kinds:',
    '',
    ...kinds,
    '',
    '```bash',
    'curl -X POST localhost:3000/api/v1/events -H "Authorization: Bearer $KEY" -H "content-type: application/json" \\',
    '  -H "Idempotency-Key: ORD001-confirmed" \\',
    '  -d \'{"type":"order.status_changed","customer_id":"u1","data":{"status":"confirmed",',
    '       "order":{"order_number":"ORD001","pickup_date":"Sat 18 Jan, 9-11 AM"}}}\'',
    '```',
    '',
    '| event | status | notification type | recipients | data |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    'The variables each type needs are listed in [templates.md](templates.md).',
    '',
  ].join('\n');
}

const DELIVERY_ERRORS_START = '<!-- delivery-errors:start -->';
const DELIVERY_ERRORS_END = '<!-- delivery-errors:end -->';

/**
 * The "Delivery error codes" section of docs/errors.md, from the delivery-error catalogue
 * (src/channels/delivery-errors.ts); the rest of that page is written by hand.
 */
export function deliveryErrorsSection(): string {
  const anchor = (code: string) => `<a id="${deliveryErrorAnchor(code)}"></a>\`${code}\``;
  const errors = Object.entries(DELIVERY_ERRORS).map(([code, e]: [string, DeliveryErrorEntry]) => {
    return `| ${anchor(code)} | ${e.class} | ${e.channels.join(', ')} | ${e.meaning} | ${e.fix} |`;
  });
  const skips = Object.entries(SKIP_REASONS).map(
    ([reason, s]) => `| ${anchor(reason)} | ${s.meaning} | ${s.fix} |`,
  );
  const twilio = Object.keys(TWILIO_ERRORS).map((code) => {
    const d = describeDeliveryError('sms', code);
    return `| [\`${code}\`](${d.docs}) | ${d.class} | ${TWILIO_ERRORS[Number(code)]!.text} | ${d.fix} |`;
  });
  const vonageRow = (code: string, text: string) => {
    const d = describeDeliveryError('sms', code);
    return `| [\`${code}\`](${d.docs}) | ${d.class} | ${text} | ${d.fix} |`;
  };
  const vonage = [
    ...Object.entries(VONAGE_SEND_STATUSES).map(([n, e]) =>
      vonageRow(vonageSendErrorCode(Number(n)), e.text),
    ),
    ...Object.entries(VONAGE_RECEIPT_ERRORS).map(([n, e]) =>
      vonageRow(vonageReceiptErrorCode(Number(n)), e.text),
    ),
  ];
  return [
    DELIVERY_ERRORS_START,
    '<!-- Generated by `node scripts/catalog-docs.ts` from src/channels/delivery-errors.ts. Do not edit. -->',
    '',
    'A failed or retried delivery records an `error_code` (in the delivery and in each history row); a',
    'skipped one records a `skip_reason`. The class says what happens next: `retryable` is tried again,',
    '`unknown_outcome` too, but the request may have reached the provider, so the next attempt looks',
    'for the message first (and past the retry budget the provider is asked, never sent blind;',
    '`details.outcome_unknown: true`), `permanent` fails the delivery. The SMS channel records',
    "Twilio's numeric codes as they are (`30003`; see [sms.md](sms.md) and Twilio's error",
    'dictionary); email records one of the `EMAIL_*` codes with the SMTP reply in its metadata',
    '(`smtp_code`), push one of the `PUSH_*` codes (see [inbox.md](inbox.md#web-push)).',
    '`describeDeliveryError(channel, code)` (src/channels/delivery-error-info.ts) answers the meaning, fix',
    'and class of any of them, a Twilio code, an SMTP reply or a push status included.',
    '',
    '| code | class | channels | meaning | fix |',
    '|---|---|---|---|---|',
    ...errors,
    '',
    "### Twilio's codes",
    '',
    'The Twilio codes the SMS channel knows (src/channels/sms/twilio-errors.ts); any other is retried when',
    'the request got no answer, 408, 429 or 5xx, and failed otherwise.',
    '',
    '| code | class | meaning | fix |',
    '|---|---|---|---|',
    ...twilio,
    '',
    "### Vonage's codes",
    '',
    'Vonage numbers its SMS API statuses and its receipt err-codes from 1, so they are recorded as',
    '`VONAGE_<status>` (refused at send) and `VONAGE_DLR_<err-code>` (a failed receipt), never bare',
    '(src/channels/sms/vonage/vonage-errors.ts; how each maps for the routing: [sms.md](sms.md#vonage-provider)).',
    '',
    '| code | class | meaning | fix |',
    '|---|---|---|---|',
    ...vonage,
    '',
    '### Skip reasons',
    '',
    '| skip reason | meaning | fix |',
    '|---|---|---|',
    ...skips,
    DELIVERY_ERRORS_END,
  ].join('\n');
}

/** docs/errors.md with its delivery-error section replaced by the generated one. */
export function errorsDoc(current: string): string {
  return replaceSection(
    current,
    DELIVERY_ERRORS_START,
    DELIVERY_ERRORS_END,
    deliveryErrorsSection(),
    'docs/errors.md',
  );
}

if (import.meta.main) {
  writeFileSync(new URL('../docs/templates.md', import.meta.url), await templatesDoc());
  writeFileSync(new URL('../docs/events.md', import.meta.url), eventsDoc());
  const errorsUrl = new URL('../docs/errors.md', import.meta.url);
  writeFileSync(errorsUrl, errorsDoc(readFileSync(errorsUrl, 'utf8')));
  console.log('Wrote docs/templates.md, docs/events.md and the delivery errors of docs/errors.md');
}
