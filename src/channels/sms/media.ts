/**
 * MMS media (docs/mms.md): a notification's `media_urls` context field, checked the same way at
 * creation and again at send (the allow-list may have changed), and who can receive it. Twilio
 * sends MMS to the US and Canada only; elsewhere the SMS carries the media as tracked links.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { z } from 'zod';
import { AppError } from '../../errors.ts';

/** The context field that carries an SMS's media. */
export const MEDIA_FIELD = 'media_urls';
/** Twilio's limit per message. */
export const MAX_MEDIA = 10;
/** The image types every MMS carrier takes. */
export const IMAGE_TYPES: readonly string[] = ['image/jpeg', 'image/png', 'image/gif'];
/** Where an MMS can be received (Twilio: US and Canada). */
const MMS_COUNTRIES: ReadonlySet<string> = new Set(['US', 'CA']);

const shape = z.array(z.string().max(2000)).max(MAX_MEDIA, `at most ${MAX_MEDIA} media URLs`);

/** The media URLs of a context (none when it has no `media_urls`); MEDIA_URL_REFUSED naming the first bad one. */
export function mediaUrlsOf(context: Record<string, unknown>, hosts: readonly string[]): string[] {
  const value = context[MEDIA_FIELD];
  if (value === undefined) return [];
  const parsed = shape.safeParse(value);
  if (!parsed.success) {
    throw new AppError('MEDIA_URL_REFUSED', `${MEDIA_FIELD}: ${parsed.error.issues[0]!.message}`, {
      field: MEDIA_FIELD,
    });
  }
  for (const raw of parsed.data) {
    const reason = refusal(raw, hosts);
    if (reason) throw new AppError('MEDIA_URL_REFUSED', `Media URL refused: ${reason}`, { url: raw, reason });
  }
  return parsed.data;
}

function refusal(raw: string, hosts: readonly string[]): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `"${raw}" is not a URL`;
  }
  if (url.protocol !== 'https:') return `only https media, not ${url.protocol}`;
  if (url.username || url.password) return 'no credentials in a media URL';
  if (!hosts.includes(url.hostname.toLowerCase())) {
    return hosts.length === 0
      ? 'no media host is allowed (set MMS_MEDIA_HOSTS)'
      : `${url.hostname} is not an allowed media host (${hosts.join(', ')})`;
  }
  return undefined;
}

/** Whether the number's country receives MMS; elsewhere the media goes as tracked links. */
export function receivesMms(e164: string): boolean {
  const country = parsePhoneNumberFromString(e164)?.country;
  return country !== undefined && MMS_COUNTRIES.has(country);
}

/** What the check before sending found (a HEAD of the URL through the SSRF guard). */
export type MediaCheckResult = { ok: true } | { ok: false; reason: string; retryable: boolean };
export type MediaCheck = (url: string) => Promise<MediaCheckResult>;

/** The answer to a HEAD judged: an image within `maxBytes`, with its size given. */
export function judgeMediaAnswer(
  status: number,
  contentType: string | undefined,
  contentLength: string | undefined,
  maxBytes: number,
): MediaCheckResult {
  if (status >= 500 || status === 429)
    return { ok: false, reason: `the media host answered ${status}`, retryable: true };
  if (status < 200 || status > 299)
    return { ok: false, reason: `the media host answered ${status}`, retryable: false };
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (!IMAGE_TYPES.includes(type))
    return {
      ok: false,
      reason: `${type || 'no content type'} is not an image (${IMAGE_TYPES.join(', ')})`,
      retryable: false,
    };
  const bytes = Number(contentLength);
  if (contentLength === undefined || !Number.isInteger(bytes))
    return { ok: false, reason: 'the media host did not give its size', retryable: false };
  if (bytes > maxBytes)
    return { ok: false, reason: `${bytes} bytes is larger than ${maxBytes}`, retryable: false };
  return { ok: true };
}
