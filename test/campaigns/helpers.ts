import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import type { RunningApp } from '../../src/app.ts';
import type { Db } from '../../src/db/database.ts';
import { wallMs } from '../../src/time-zone.ts';
import { ADMIN_KEY } from '../helpers/sms-app.ts';

let blocks = 0;

/** A group of sandbox users made in one statement each: Indian mobiles, opted in or not to promotional SMS. */
export async function seedUsers(
  db: Db,
  prefix: string,
  count: number,
  opts: { phone?: boolean; smsOptIn?: boolean; city?: string; quietHours?: [string, string] } = {},
): Promise<string[]> {
  const phone = opts.phone ?? true;
  // Numbers unique across the process's groups: each group has its own block of 100,000.
  const block = 100 + blocks++;
  await db.execute(sql`insert into users (external_id, email, phone, first_name, attributes)
    select ${prefix} || i, ${prefix} || i || '@example.com',
           case when ${phone} then '+9198' || ${block}::text || lpad(i::text, 5, '0') end,
           'Asha', jsonb_build_object('city', ${opts.city ?? 'Pune'}::text)
    from generate_series(1, ${count}) i`);
  if (opts.smsOptIn ?? true) {
    await db.execute(sql`insert into notification_preferences (user_id, category, channel, enabled)
      select id, 'promotions', 'sms', true from users where external_id like ${`${prefix}%`}`);
  }
  if (opts.quietHours) {
    await db.execute(sql`insert into notification_settings (user_id, quiet_hours_start, quiet_hours_end)
      select id, ${opts.quietHours[0]}, ${opts.quietHours[1]} from users where external_id like ${`${prefix}%`}`);
  }
  return Array.from({ length: count }, (_, i) => `${prefix}${i + 1}`);
}

/** "HH:MM" in Asia/Kolkata (every seeded user's zone, from their +91 number) `offsetMin` from `at`. */
export function kolkataHhMm(at: number, offsetMin: number): string {
  const wall = new Date(wallMs(at + offsetMin * 60_000, 'Asia/Kolkata'));
  return `${String(wall.getUTCHours()).padStart(2, '0')}:${String(wall.getUTCMinutes()).padStart(2, '0')}`;
}

export function api(app: RunningApp) {
  return async (method: string, path: string, body?: unknown, key = ADMIN_KEY) => {
    const res = await fetch(`${app.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    // biome-ignore lint/suspicious/noExplicitAny: response bodies are JSON the assertions inspect
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
}

export function expectStatus(res: { status: number; body: unknown }, status: number): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
}
