import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { firstAttemptAt, quietHoursEnd } from '../../src/preferences/quiet-hours.ts';

const NIGHT = { start: '21:00', end: '08:00' };
const iso = (d: Date | null) => d?.toISOString() ?? null;

describe('quietHoursEnd (pure, wall clock in the user’s zone)', () => {
  const cases: Array<[string, string, string, { start: string; end: string }, string | null]> = [
    // [what, now (UTC), zone, window, expected end (UTC) or null]
    [
      'Kolkata 21:30, overnight window → 08:00 next day',
      '2026-01-10T16:00:00Z',
      'Asia/Kolkata',
      NIGHT,
      '2026-01-11T02:30:00.000Z',
    ],
    [
      'Kolkata 07:30 → 08:00 the same day',
      '2026-01-10T02:00:00Z',
      'Asia/Kolkata',
      NIGHT,
      '2026-01-10T02:30:00.000Z',
    ],
    [
      'Kolkata 21:00 exactly is inside',
      '2026-01-10T15:30:00Z',
      'Asia/Kolkata',
      NIGHT,
      '2026-01-11T02:30:00.000Z',
    ],
    ['Kolkata 08:00 exactly is outside', '2026-01-10T02:30:00Z', 'Asia/Kolkata', NIGHT, null],
    ['Kolkata 20:59 is outside', '2026-01-10T15:29:00Z', 'Asia/Kolkata', NIGHT, null],
    [
      'Kathmandu (+05:45) 21:15 → 08:00 next day',
      '2026-01-10T15:30:00Z',
      'Asia/Kathmandu',
      NIGHT,
      '2026-01-11T02:15:00.000Z',
    ],
    ['Kathmandu 02:00 → 08:00', '2026-01-10T20:15:00Z', 'Asia/Kathmandu', NIGHT, '2026-01-11T02:15:00.000Z'],
    [
      'New York 22:00 EST before spring-forward → 08:00 EDT (12:00Z, not 13:00Z)',
      '2026-03-08T03:00:00Z',
      'America/New_York',
      NIGHT,
      '2026-03-08T12:00:00.000Z',
    ],
    [
      'New York 22:00 EDT before fall-back → 08:00 EST (13:00Z, not 12:00Z)',
      '2026-11-01T02:00:00Z',
      'America/New_York',
      NIGHT,
      '2026-11-01T13:00:00.000Z',
    ],
    [
      'New York 01:30 EST after fall-back, still inside',
      '2026-11-01T06:30:00Z',
      'America/New_York',
      NIGHT,
      '2026-11-01T13:00:00.000Z',
    ],
    [
      'an end inside the DST gap (02:30) moves past it: 03:30 EDT',
      '2026-03-08T04:30:00Z',
      'America/New_York',
      { start: '23:00', end: '02:30' },
      '2026-03-08T07:30:00.000Z',
    ],
    [
      'an end that happens twice (01:30) is the first one, EDT',
      '2026-11-01T03:30:00Z',
      'America/New_York',
      { start: '23:00', end: '01:30' },
      '2026-11-01T05:30:00.000Z',
    ],
    [
      'a daytime window, inside',
      '2026-06-01T11:00:00Z',
      'Europe/London',
      { start: '12:00', end: '14:00' },
      '2026-06-01T13:00:00.000Z',
    ],
    [
      'a daytime window, outside',
      '2026-06-01T14:00:00Z',
      'Europe/London',
      { start: '12:00', end: '14:00' },
      null,
    ],
    ['an empty window never holds', '2026-06-01T11:00:00Z', 'UTC', { start: '10:00', end: '10:00' }, null],
  ];
  for (const [what, now, zone, window, expected] of cases) {
    test(what, () => assert.equal(iso(quietHoursEnd(new Date(now), zone, window)), expected));
  }
});

describe('firstAttemptAt: which deliveries wait', () => {
  const now = new Date('2026-01-10T16:00:00Z'); // 21:30 in Kolkata
  const end = '2026-01-11T02:30:00.000Z';
  const base = { now, timeZone: 'Asia/Kolkata', quietHours: NIGHT };
  const cases: Array<[string, Parameters<typeof firstAttemptAt>[0], string | null]> = [
    ['regular SMS waits for the end of quiet hours', { ...base, channel: 'sms', priority: 'regular' }, end],
    ['regular push waits too', { ...base, channel: 'push', priority: 'regular' }, end],
    ['critical SMS goes at once', { ...base, channel: 'sms', priority: 'critical' }, now.toISOString()],
    ['in-app is never held', { ...base, channel: 'in_app', priority: 'regular' }, now.toISOString()],
    [
      'email is not held by quiet hours',
      { ...base, channel: 'email', priority: 'regular' },
      now.toISOString(),
    ],
    ['digest email is held for the digest', { ...base, channel: 'email', priority: 'digest' }, null],
    ['digest push follows quiet hours', { ...base, channel: 'push', priority: 'digest' }, end],
    [
      'no quiet hours: at once',
      { ...base, quietHours: null, channel: 'sms', priority: 'regular' },
      now.toISOString(),
    ],
  ];
  for (const [what, input, expected] of cases) {
    test(what, () => assert.equal(iso(firstAttemptAt(input)), expected));
  }
});
