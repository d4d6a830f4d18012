import {
  API_KEY_ROLES,
  type ApiKeyRole,
  type ApiKeySummary,
  createApiKey,
  type KeyChange,
  listApiKeys,
  MAX_ROTATION_OVERLAP_SECONDS,
  revokeApiKey,
  rotateApiKey,
} from '../../auth/api-keys.ts';
import type { Database } from '../../db/database.ts';
import { configOrExit, type ParsedValues, parseCommand } from '../command.ts';
import { openMigratedDatabase } from './templates.ts';

const HELP = `Usage: laundryconnect-notify keys list [--json]
       laundryconnect-notify keys create --name NAME --role service|admin|viewer
       laundryconnect-notify keys revoke ID
       laundryconnect-notify keys rotate ID [--overlap 24h]

API keys on this machine's database (DATABASE_URL, else DATA_DIR), as GET/POST /api/v1/api-keys do
them over the API. A new key is printed once, on stdout, and never again (only its hash is kept).
This is also how a lost admin key is replaced: \`keys create --name ops --role admin\` needs access
to the database, never a key, so it works only where the database is reachable (docs/auth.md).
On the embedded database, stop \`serve\` first: one process at a time may open DATA_DIR.

  list               every key: id, prefix, role, state (active / expiring / revoked), last used
  create             a new key with this name and role
  revoke ID          stops the key now (the last admin key cannot be revoked)
  rotate ID          a new key with the same name and role; the old one keeps working for
                     --overlap (default 24h; 0 stops it now; s, m, h or d; at most 30d)
Exit codes: 0 done, 1 failed or refused, 2 usage error.`;

export async function runKeysCommand(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action === undefined || action === '--help' || action === '-h') {
    console.log(HELP);
    return action ? 0 : 2;
  }
  const parsed = parseCommand(
    rest.filter((a) => !/^\d+$/.test(a)),
    {
      json: { type: 'boolean' },
      name: { type: 'string' },
      role: { type: 'string' },
      overlap: { type: 'string' },
    },
    HELP,
  );
  if ('exitCode' in parsed) return parsed.exitCode;
  const id = rest.find((a) => /^\d+$/.test(a));
  const plan = planOf(action, parsed.values, id);
  if (typeof plan === 'string') {
    console.error(`${plan}\n\n${HELP}`);
    return 2;
  }
  const config = configOrExit();
  if (!config) return 1;
  const database = await openMigratedDatabase(config);
  if (!database) return 1;
  try {
    return await plan(database);
  } finally {
    await database.close();
  }
}

type Plan = (database: Database) => Promise<number>;

/** What to do, or why the arguments cannot say it (a usage error, before anything is opened). */
function planOf(action: string, v: ParsedValues, id: string | undefined): Plan | string {
  switch (action) {
    case 'list':
      return async ({ db }) => {
        const keys = await listApiKeys(db);
        console.log(v['json'] ? JSON.stringify({ keys }, null, 2) : formatKeys(keys));
        return 0;
      };
    case 'create': {
      const name = v['name'];
      const role = v['role'];
      if (typeof name !== 'string' || name.trim() === '') return 'keys create needs --name';
      if (!API_KEY_ROLES.includes(role as ApiKeyRole))
        return `--role must be one of ${API_KEY_ROLES.join(', ')}`;
      return async ({ db }) => {
        const key = await createApiKey(db, name.trim(), role as ApiKeyRole);
        console.error(`Created ${role} key "${name.trim()}". It is shown once; store it now:`);
        console.log(key);
        return 0;
      };
    }
    case 'revoke':
      if (id === undefined) return 'keys revoke needs the key id (see keys list)';
      return async ({ db }) => {
        const change = await revokeApiKey(db, Number(id));
        if (change.kind !== 'done') return refused(change, id);
        console.log(`Revoked key ${id} (${change.key.prefix}, ${change.key.role} "${change.key.name}").`);
        return 0;
      };
    case 'rotate': {
      if (id === undefined) return 'keys rotate needs the key id (see keys list)';
      const overlap = overlapSeconds(v['overlap']);
      if (typeof overlap === 'string') return overlap;
      return async ({ db }) => {
        const result = await rotateApiKey(db, Number(id), overlap);
        if (result.kind !== 'done') return refused(result, id);
        console.error(
          `New ${result.created.role} key "${result.created.name}" (id ${result.created.id}); the old key ${id} ` +
            (overlap === 0 ? 'stopped now.' : `works until ${result.old.revoked_at}.`) +
            ' The new key is shown once; store it now:',
        );
        console.log(result.key);
        return 0;
      };
    }
    default:
      return `Unknown keys action "${action}"`;
  }
}

function refused(change: Exclude<KeyChange, { kind: 'done' }>, id: string): number {
  const why = {
    not_found: `no API key with id ${id}`,
    already_revoked: `key ${id} was revoked already`,
    last_admin: `key ${id} is the last admin key: create another admin key first`,
  }[change.kind];
  console.error(`Error: ${why}`);
  return 1;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `--overlap 90m` → 5400; a usage error as a sentence. */
export function overlapSeconds(raw: string | boolean | string[] | boolean[] | undefined): number | string {
  if (raw === undefined) return 24 * 3600;
  const m = typeof raw === 'string' ? /^(\d+)([smhd]?)$/.exec(raw) : null;
  if (!m) return '--overlap takes a whole number with s, m, h or d, e.g. 24h';
  const seconds = Number(m[1]) * UNIT_SECONDS[m[2] || 's']!;
  if (seconds > MAX_ROTATION_OVERLAP_SECONDS) return '--overlap is at most 30d';
  return seconds;
}

function formatKeys(keys: ApiKeySummary[]): string {
  if (keys.length === 0) return 'No API keys.';
  const rows = [
    ['id', 'prefix', 'role', 'state', 'name', 'last used', 'until'],
    ...keys.map((k) => [
      String(k.id),
      k.prefix,
      k.role,
      k.state,
      k.name,
      k.last_used_at ?? 'never',
      k.state === 'active' ? '' : (k.revoked_at ?? ''),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
