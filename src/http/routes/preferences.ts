import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { UserTokens } from '../../auth/user-tokens.ts';
import type { Db } from '../../db/database.ts';
import { listSmsReplies } from '../../inbound/sms-replies.ts';
import { ACCEPTED_FIELDS } from '../../preferences/preference-fields.ts';
import {
  getPreferences,
  type SmsOptInHook,
  updatePreferences,
} from '../../preferences/preferences-service.ts';
import type { QuietWindow } from '../../preferences/quiet-hours.ts';
import { type BudgetSettings, budgetStatus } from '../../stats/sms-budget.ts';
import { jsonObject, text } from '../../text.ts';
import { requireApiKey, requireUserOrApiKey, targetUserId } from '../auth.ts';

export interface PreferenceRouteDeps {
  db: Db;
  tokens: UserTokens;
  defaultQuietHours: QuietWindow | null;
  /** SMS_DAILY_BUDGET, when set. */
  budget: BudgetSettings | undefined;
  /** Sends the SMS opt-in confirmation when a change turns SMS on. */
  onSmsOptIn?: SmsOptInHook;
}

const userQuery = z.object({
  user_id: text().min(1).max(128).optional().describe('With an API key: whose preferences'),
});

const patchBody = jsonObject().describe(
  `Any of: ${ACCEPTED_FIELDS.join(', ')}. Flags are booleans; quiet hours "HH:MM" or null.`,
);

function actorOf(request: FastifyRequest): string {
  return request.userToken ? `user:${request.userToken.userId}` : `api_key:${request.apiKey?.name ?? '?'}`;
}

/**
 * The seed's preferences endpoint (trailing slash as in the guide, and without it), for a user's
 * own token and for the backend's API key (`?user_id=`).
 */
export function registerPreferenceRoutes(app: FastifyInstance, deps: PreferenceRouteDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const auth = requireUserOrApiKey(deps.db, deps.tokens);
  for (const path of ['/api/notifications/preferences/', '/api/notifications/preferences']) {
    r.get(
      path,
      {
        schema: {
          tags: ['preferences'],
          summary:
            "A user's notification preferences: every <category>_<channel> flag, quiet hours, time zone",
          querystring: userQuery,
          hide: !path.endsWith('/'),
        },
        onRequest: auth,
      },
      async (request) =>
        getPreferences(deps.db, targetUserId(request, request.query.user_id), deps.defaultQuietHours),
    );
    r.patch(
      path,
      {
        schema: {
          tags: ['preferences'],
          summary: 'Change some preferences; every change is recorded (400 names unknown fields)',
          querystring: userQuery,
          body: patchBody,
          hide: !path.endsWith('/'),
        },
        onRequest: auth,
      },
      async (request) =>
        updatePreferences(
          deps.db,
          targetUserId(request, request.query.user_id),
          request.body,
          actorOf(request),
          deps.defaultQuietHours,
          deps.onSmsOptIn,
        ),
    );
  }

  r.get(
    '/api/notifications/sms-replies/',
    {
      schema: {
        tags: ['preferences'],
        summary: 'SMS the user sent us: keywords, replies and order confirmations (newest first)',
        querystring: userQuery,
      },
      onRequest: auth,
    },
    async (request) => listSmsReplies(deps.db, targetUserId(request, request.query.user_id)),
  );

  const budget = deps.budget;
  if (budget) {
    r.get(
      '/api/v1/sms/budget',
      {
        schema: {
          tags: ['sms'],
          summary: "Today's estimated SMS spend against the daily budget, with alerts",
        },
        onRequest: requireApiKey(deps.db),
      },
      async () => budgetStatus(deps.db, budget),
    );
  }
}
