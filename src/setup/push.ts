import webpush, { type VapidKeys } from 'web-push';
import { getOrCreateSetting } from '../auth/service-settings.ts';
import { PushChannel } from '../channels/push/push-channel.ts';
import { type Config, ConfigError } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import type { TemplateStore } from '../templates/template-store.ts';

export interface PushSetup {
  channel: PushChannel;
  /** Browsers need it to subscribe (GET /api/v1/push/vapid-public-key). */
  publicKey: string;
}

/**
 * VAPID keys from the configuration, or generated on first start and kept in the database (one
 * pair for every process: a subscription only works with the key it was made with).
 */
export async function setupPush(
  config: Config,
  deps: { db: Db; templates: TemplateStore; logger: Logger },
): Promise<PushSetup> {
  const keys = await vapidKeys(config, deps.db);
  const vapid = { ...keys, subject: config.VAPID_SUBJECT };
  return {
    channel: new PushChannel({
      db: deps.db,
      vapid,
      ttlSeconds: config.PUSH_TTL_SECONDS,
      templates: deps.templates,
      logger: deps.logger,
    }),
    publicKey: keys.publicKey,
  };
}

async function vapidKeys(config: Config, db: Db): Promise<VapidKeys> {
  const { VAPID_PUBLIC_KEY: publicKey, VAPID_PRIVATE_KEY: privateKey } = config;
  if (!publicKey && !privateKey) {
    return JSON.parse(
      await getOrCreateSetting(db, 'vapid_keys', () => JSON.stringify(webpush.generateVAPIDKeys())),
    );
  }
  if (!publicKey || !privateKey) {
    throw new ConfigError(
      'Set both VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY, or neither to have them generated',
    );
  }
  try {
    // Signs a throwaway token: bad keys fail here, at start-up, not on the first push.
    webpush.getVapidHeaders('https://push.example', config.VAPID_SUBJECT, publicKey, privateKey, 'aes128gcm');
  } catch (err) {
    throw new ConfigError(`Invalid VAPID keys: ${(err as Error).message}`);
  }
  return { publicKey, privateKey };
}
