import type { SwaggerOptions } from '@fastify/swagger';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { ERRORS, ERRORS_PAGE } from '../errors.ts';

const PROBLEM_REF = '#/components/schemas/Problem';

/**
 * The OpenAPI document's options (GET /openapi.json, @fastify/swagger from the route schemas). Every
 * error answers the one problem+json shape, so it is one component whose `code` lists the whole
 * catalogue (errors.ts), and every operation names it as its `default` response: a client generator
 * then knows every code, and test/http/openapi.test.ts holds the document to both.
 */
export function openapiOptions(version: string): SwaggerOptions {
  return {
    openapi: {
      info: {
        title: 'LaundryConnect Notify API',
        version,
        description:
          'Notifications for the LaundryConnect marketplace: SMS, email, in-app inbox and Web Push.',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'API key' },
          metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN (GET /metrics)' },
        },
        schemas: { Problem: problemSchema() },
      },
      security: [{ apiKey: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: (documentObject) => {
      if (!('openapiObject' in documentObject)) return documentObject.swaggerObject;
      const doc = documentObject.openapiObject;
      for (const item of Object.values(doc.paths ?? {})) {
        for (const [method, operation] of Object.entries(item ?? {})) {
          if (!HTTP_METHODS.has(method) || typeof operation !== 'object' || operation === null) continue;
          const op = operation as { responses?: Record<string, unknown> };
          op.responses ??= {};
          op.responses['default'] ??= {
            description: `An error: application/problem+json with a stable \`code\` (${ERRORS_PAGE})`,
            content: { 'application/problem+json': { schema: { $ref: PROBLEM_REF } } },
          };
        }
      }
      return doc;
    },
  };
}

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

function problemSchema() {
  return {
    type: 'object' as const,
    description: `RFC 9457 problem details; every code is listed on ${ERRORS_PAGE}. Some codes add fields of their own.`,
    required: ['type', 'title', 'status', 'code', 'detail'],
    properties: {
      type: { type: 'string' as const, description: `A reference to the code's entry on ${ERRORS_PAGE}` },
      title: { type: 'string' as const },
      status: { type: 'integer' as const },
      code: { type: 'string' as const, enum: Object.keys(ERRORS) },
      detail: { type: 'string' as const },
      instance: { type: 'string' as const },
    },
    additionalProperties: true,
  };
}
