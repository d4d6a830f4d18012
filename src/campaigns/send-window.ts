/**
 * When one campaign delivery may go (pure): not before its paced instant, a promotional SMS only
 * inside the promotional window of the recipient's zone (CAMPAIGN_SMS_WINDOW, India's daytime rule)
 * and, like any regular SMS, never in their quiet hours. Outside them it waits for the next opening.
 */
import type { ChannelName } from '../catalog/catalog.ts';
import {
  firstAttemptAt,
  parseQuietWindow,
  type QuietWindow,
  quietHoursEnd,
} from '../preferences/quiet-hours.ts';

/** "10:00-21:00" → the window; the config checks the shape. */
export function parseSendWindow(value: string): QuietWindow {
  return parseQuietWindow(value)!;
}

export interface DueInput {
  channel: ChannelName;
  /** The paced instant (campaign start + its place in the send rate), or the recipient's local start. */
  earliest: Date;
  timeZone: string;
  quietHours: QuietWindow | null;
  smsWindow: QuietWindow;
}

export function campaignDueAt(input: DueInput): Date {
  if (input.channel !== 'sms') return input.earliest;
  // Outside the window is a "quiet window" from its end to its start: the same wall-clock arithmetic.
  const closed = { start: input.smsWindow.end, end: input.smsWindow.start };
  let at = input.earliest;
  // A quiet-hours end may fall outside the window and a window opening inside quiet hours: a few
  // rounds settle it (each moves forward to the next boundary; two windows have four boundaries a day).
  for (let round = 0; round < 6; round++) {
    const opened = quietHoursEnd(at, input.timeZone, closed) ?? at;
    const quietOver =
      firstAttemptAt({
        channel: 'sms',
        priority: 'regular',
        now: opened,
        timeZone: input.timeZone,
        quietHours: input.quietHours,
      }) ?? opened;
    if (quietOver.getTime() === at.getTime()) return at;
    at = quietOver;
  }
  return at;
}
