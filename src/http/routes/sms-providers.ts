import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Config } from '../../config.ts';
import type { Queryable } from '../../db/database.ts';
import type { SmsSetup } from '../../setup/sms.ts';
import { smsProvidersReport, smsProvidersSchema } from '../../stats/sms-providers.ts';
import { requireApiKey } from '../auth.ts';

/**
 * The SMS providers and the router's state (docs/sms.md, "Routing"). Admin keys only: it shows
 * operational state and credential ids (masked), which a read-only viewer key has no need of.
 */
export function registerSmsProviderRoutes(
  app: FastifyInstance,
  deps: { db: Queryable; config: Config; sms: SmsSetup },
): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/api/v1/sms/providers',
    {
      schema: {
        tags: ['sms'],
        summary:
          'SMS providers: configured, enabled, sender, masked ids; routing health, weights and history',
        response: { 200: smsProvidersSchema },
      },
      onRequest: requireApiKey(deps.db, ['admin']),
    },
    async () => smsProvidersReport(deps.config, deps.sms),
  );
}
