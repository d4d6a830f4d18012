import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Clock } from '../../clock.ts';
import type { Db } from '../../db/database.ts';
import { text } from '../../text.ts';
import {
  createEndpoint,
  deleteEndpoint,
  endpointView,
  findEndpoint,
  listEndpoints,
  MAX_SECRET_OVERLAP_SECONDS,
  rotateEndpointSecret,
  updateEndpoint,
  WEBHOOK_EVENT_TYPES,
} from '../../webhooks/endpoint-store.ts';
import { listAttempts, replayMessage } from '../../webhooks/outbox-store.ts';
import { checkWebhookTarget } from '../../webhooks/target-guard.ts';
import { requireApiKey } from '../auth.ts';

export interface WebhookRouteDeps {
  db: Db;
  clock: Clock;
  /** WEBHOOK_ALLOW_PRIVATE_TARGETS: the SSRF guard's registration check is scheme-only. */
  allowPrivateTargets: boolean;
}

const tags = ['webhooks'];
const eventTypes = z
  .array(z.enum(WEBHOOK_EVENT_TYPES))
  .max(WEBHOOK_EVENT_TYPES.length)
  .describe('The events to send; empty: every event');
const fields = {
  url: text().min(1).max(2000).describe('Where to POST: http(s), a public address'),
  event_types: eventTypes,
  description: text().max(500).describe('What it is, for the operators'),
  enabled: z.boolean().describe('False: nothing is sent (events are still kept for it)'),
};
const createBody = z
  .object({
    url: fields.url,
    event_types: fields.event_types.default([]),
    description: fields.description.default(''),
    enabled: fields.enabled.default(true),
  })
  .strict();
const patchBody = z.object(fields).partial().strict();
const idParams = z.object({ id: z.coerce.number().int().positive().describe('The endpoint id') });
const rotateBody = z
  .object({
    overlap_seconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_SECRET_OVERLAP_SECONDS)
      .default(24 * 3600)
      .describe('How long the old secret keeps signing beside the new one (default one day)'),
  })
  .strict()
  .default({ overlap_seconds: 24 * 3600 });
const attemptsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: z.coerce.number().int().positive().optional().describe("The previous page's next_before"),
});
const messageParams = z.object({
  id: z
    .string()
    .regex(/^msg_[A-Za-z0-9]+$/)
    .describe('The webhook-id, msg_…'),
});
const replayBody = z
  .object({ endpoint_id: z.number().int().positive().optional().describe('Only to this endpoint') })
  .strict()
  .default({});

/**
 * Admins register the marketplace backend's webhook endpoints (docs/webhooks.md). The secret is in
 * the answers that create or rotate it and never again. A URL is checked by the SSRF guard here
 * and again on every send.
 */
export function registerWebhookRoutes(app: FastifyInstance, deps: WebhookRouteDeps): void {
  const { db } = deps;
  const r = app.withTypeProvider<ZodTypeProvider>();
  const admin = requireApiKey(db, ['admin']);
  const base = '/api/v1/webhook-endpoints';
  r.post(
    base,
    {
      schema: { tags, summary: 'Register a webhook endpoint (its secret shown once)', body: createBody },
      onRequest: admin,
    },
    async (request, reply) => {
      const b = request.body;
      await checkWebhookTarget(b.url, deps.allowPrivateTargets);
      const created = await createEndpoint(db, {
        url: b.url,
        eventTypes: b.event_types,
        description: b.description,
        enabled: b.enabled,
      });
      return reply.code(201).send({ endpoint: created.endpoint, secret: created.secret });
    },
  );
  r.get(base, { schema: { tags, summary: 'List webhook endpoints' }, onRequest: admin }, async () => ({
    endpoints: await listEndpoints(db),
  }));
  r.get(
    `${base}/:id`,
    { schema: { tags, summary: 'One webhook endpoint', params: idParams }, onRequest: admin },
    async (request) => ({ endpoint: endpointView(await findEndpoint(db, request.params.id)) }),
  );
  r.patch(
    `${base}/:id`,
    {
      schema: {
        tags,
        summary: 'Change a webhook endpoint (enabling clears why it was off)',
        params: idParams,
        body: patchBody,
      },
      onRequest: admin,
    },
    async (request) => {
      const b = request.body;
      if (b.url !== undefined) await checkWebhookTarget(b.url, deps.allowPrivateTargets);
      const endpoint = await updateEndpoint(db, request.params.id, {
        ...(b.url !== undefined ? { url: b.url } : {}),
        ...(b.event_types !== undefined ? { eventTypes: b.event_types } : {}),
        ...(b.description !== undefined ? { description: b.description } : {}),
        ...(b.enabled !== undefined ? { enabled: b.enabled } : {}),
      });
      return { endpoint };
    },
  );
  r.delete(
    `${base}/:id`,
    {
      schema: {
        tags,
        summary: 'Delete a webhook endpoint, its queued messages and attempts',
        params: idParams,
      },
      onRequest: admin,
    },
    async (request, reply) => {
      await deleteEndpoint(db, request.params.id);
      return reply.code(204).send();
    },
  );
  r.post(
    `${base}/:id/rotate-secret`,
    {
      schema: {
        tags,
        summary: 'A new secret (shown once); the old one signs beside it for the overlap',
        params: idParams,
        body: rotateBody,
      },
      onRequest: admin,
    },
    async (request, reply) => {
      const now = new Date(deps.clock.now());
      const rotated = await rotateEndpointSecret(db, request.params.id, request.body.overlap_seconds, now);
      return reply.code(201).send({ endpoint: rotated.endpoint, secret: rotated.secret });
    },
  );
  r.get(
    `${base}/:id/attempts`,
    {
      schema: {
        tags,
        summary: 'Attempts to send to an endpoint, newest first',
        params: idParams,
        querystring: attemptsQuery,
      },
      onRequest: admin,
    },
    async (request) => {
      await findEndpoint(db, request.params.id);
      return listAttempts(db, request.params.id, request.query.limit, request.query.before);
    },
  );
  r.post(
    '/api/v1/webhook-messages/:id/replay',
    {
      schema: { tags, summary: 'Send a webhook message again, now', params: messageParams, body: replayBody },
      onRequest: admin,
    },
    async (request, reply) => {
      const requeued = await replayMessage(
        db,
        request.params.id,
        request.body.endpoint_id,
        deps.clock.sqlNow(),
      );
      return reply.code(202).send({ message_id: request.params.id, requeued });
    },
  );
}
