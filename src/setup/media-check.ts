import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { judgeMediaAnswer, type MediaCheck } from '../channels/sms/media.ts';
import { checkLiteralHost, guardedLookup } from '../webhooks/target-guard.ts';

export interface MediaCheckOptions {
  timeoutMs: number;
  maxBytes: number;
  /** WEBHOOK_ALLOW_PRIVATE_TARGETS: the same SSRF guard as the webhooks, with the same switch. */
  allowPrivate: boolean;
  /** MMS_MEDIA_CA_FILE's certificates, trusted besides the system's (a private CDN). */
  ca: string | undefined;
}

/**
 * The check before an MMS is sent: a HEAD of each media URL (Twilio fetches the media itself, so a
 * URL it cannot use would fail only after the charge), through the webhooks' SSRF guard, so a media
 * URL cannot make the service call its own network. Bounded by `timeoutMs`; a redirect is refused
 * like any non-2xx (Node's https never follows one).
 */
export function mediaChecker(o: MediaCheckOptions): MediaCheck {
  return (raw) =>
    new Promise((resolve) => {
      let url: URL;
      try {
        url = new URL(raw);
        checkLiteralHost(url, o.allowPrivate);
      } catch (err) {
        return resolve({ ok: false, reason: (err as Error).message, retryable: false });
      }
      const req = https.request(
        url,
        {
          method: 'HEAD',
          signal: AbortSignal.timeout(o.timeoutMs),
          lookup: guardedLookup(o.allowPrivate),
          ...(o.ca ? { ca: [...rootCertificates, o.ca] } : {}),
        },
        (res) => {
          res.resume();
          const length = res.headers['content-length'];
          resolve(judgeMediaAnswer(res.statusCode ?? 0, res.headers['content-type'], length, o.maxBytes));
        },
      );
      req.on('error', (err) =>
        resolve({
          ok: false,
          reason: `the media host could not be reached (${err.message})`,
          retryable: true,
        }),
      );
      req.end();
    });
}
