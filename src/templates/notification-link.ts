import { getNotificationType } from '../catalog/catalog.ts';
import { isMessageFault, renderTemplate } from './render-pool.ts';

/**
 * The page a notification is about (the catalog's `link`, rendered with its context), or null
 * when the context lacks what the link needs (a notification created through the API with a
 * partial context): such an item is still listed, only without its link.
 */
export async function notificationLink(
  type: string,
  context: Record<string, unknown>,
): Promise<string | null> {
  const def = getNotificationType(type);
  if (!def) return null;
  try {
    return await renderTemplate(def.link, context);
  } catch (err) {
    if (isMessageFault(err)) return null;
    throw err;
  }
}
