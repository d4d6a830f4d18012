/**
 * The database floor: the same driver the service uses (PGlite in-process, or `pg` with the
 * service's pool size) committing, per notification, the rows the service commits when it accepts
 * one — 1 notification + one delivery per channel of the type + one history row each — in one
 * transaction, with plain SQL and no application logic, as fast as it can.
 * Usage: node bench/floors/database-floor.ts <json plan>; prints one JSON line.
 */
import { join } from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import pg from 'pg';

export interface DatabaseFloorPlan {
  engine: 'pglite' | 'postgres';
  /** DATA_DIR (PGlite, already migrated) or a connection string (PostgreSQL, already migrated). */
  target: string;
  seconds: number;
  warmup: number;
  /** Status of each delivery row ('queued' or 'skipped'), one per channel of the type. */
  deliveries: { channel: string; status: string }[];
  title: string;
  message: string;
  context: Record<string, unknown>;
  /** Concurrent transactions (PostgreSQL; PGlite runs one at a time whatever you ask). */
  concurrency: number;
}

export interface DatabaseFloorResult {
  notificationsPerSecond: number;
  committed: number;
  seconds: number;
  rowsPerNotification: number;
}

type Query = (text: string, params: unknown[]) => Promise<{ rows: Record<string, unknown>[] }>;

/** The statements of one accepted notification (the service's create transaction, writes only). */
async function commitOne(q: Query, plan: DatabaseFloorPlan, userId: unknown, seq: number): Promise<void> {
  const [n] = (
    await q(
      `insert into notifications (notification_id, user_id, type, category, priority, title, message, context)
       values ($1, $2, 'order_confirmed', 'order_updates', 'critical', $3, $4, $5) returning id`,
      [`ntf_floor_${process.pid}_${seq}`, userId, plan.title, plan.message, JSON.stringify(plan.context)],
    )
  ).rows;
  const values = plan.deliveries.map((_, i) => `($1, $${i * 2 + 2}, $${i * 2 + 3}, 4, now())`).join(', ');
  const params = [n!['id'], ...plan.deliveries.flatMap((d) => [d.channel, d.status])];
  const ds = (
    await q(
      `insert into deliveries (notification_id, channel, status, max_attempts, next_attempt_at)
       values ${values} returning id, status`,
      params,
    )
  ).rows;
  const hist = ds.map((_, i) => `($${i * 2 + 1}, null, $${i * 2 + 2})`).join(', ');
  await q(
    `insert into delivery_status_history (delivery_id, from_status, to_status) values ${hist}`,
    ds.flatMap((d) => [d['id'], d['status']]),
  );
}

async function run(plan: DatabaseFloorPlan): Promise<DatabaseFloorResult> {
  let committed = 0;
  let seq = 0;
  // The clock starts once the database is open: opening PGlite is not commit time.
  let measureFrom = Number.POSITIVE_INFINITY;
  let end = Number.POSITIVE_INFINITY;
  const startClock = () => {
    measureFrom = Date.now() + plan.warmup * 1000;
    end = measureFrom + plan.seconds * 1000;
  };
  const count = () => {
    if (Date.now() >= measureFrom) committed++;
  };
  const userSql = `insert into users (external_id, phone) values ('floor-user', '+919876543210')
                   on conflict (external_id) do update set phone = excluded.phone returning id`;
  if (plan.engine === 'pglite') {
    const client = new PGlite(join(plan.target, 'pglite'));
    await client.waitReady;
    const userId = (await client.query<{ id: unknown }>(userSql)).rows[0]!.id;
    startClock();
    while (Date.now() < end) {
      await client.transaction((tx: Transaction) => commitOne((t, p) => tx.query(t, p), plan, userId, seq++));
      count();
    }
    await client.close();
  } else {
    const pool = new pg.Pool({ connectionString: plan.target, max: plan.concurrency });
    const userId = (await pool.query(userSql)).rows[0].id;
    startClock();
    const loop = async () => {
      while (Date.now() < end) {
        const c = await pool.connect();
        try {
          await c.query('begin');
          await commitOne((t, p) => c.query(t, p), plan, userId, seq++);
          await c.query('commit');
        } finally {
          c.release();
        }
        count();
      }
    };
    await Promise.all(Array.from({ length: plan.concurrency }, loop));
    await pool.end();
  }
  const seconds = (Date.now() - measureFrom) / 1000;
  return {
    notificationsPerSecond: committed / seconds,
    committed,
    seconds,
    rowsPerNotification: 1 + plan.deliveries.length * 2,
  };
}

console.log(JSON.stringify(await run(JSON.parse(process.argv[2]!) as DatabaseFloorPlan)));
