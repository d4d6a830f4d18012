import { getNotificationType } from '../catalog/catalog.ts';
import { AppError } from '../errors.ts';
import { renderTemplate } from './render.ts';

/**
 * The page a notification is about (the catalog's `link`, rendered with its context), or null
 * when the context lacks what the link needs (a notification created through the API with a
 * partial context): such an item is still listed, only without its link.
 */
export function notificationLink(type: string, context: Record<string, unknown>): string | null {
  const def = getNotificationType(type);
  if (!def) return null;
  try {
    return renderTemplate(def.link, context);
  } catch (err) {
    if (err instanceof AppError) return null;
    throw err;
  }
}
