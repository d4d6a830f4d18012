import {
  API_KEY_ROLES,
  type ApiKeyRole,
  type ApiKeySummary,
  type KeyChange,
  MAX_ROTATION_OVERLAP_SECONDS,
} from '../../auth/api-keys.ts';
import type { Config } from '../../config.ts';
import { configOrExit, type ParsedValues, parseCommand } from '../command.ts';
import { operate, refusedOrThrow } from '../operate.ts';

const HELP = `Usage: laundryconnect-notify keys list [--json]
       laundryconnect-notify keys create --name NAME --role service|admin|viewer
       laundryconnect-notify keys revoke ID
       laundryconnect-notify keys rotate ID [--overlap 24h]

API keys on this machine's database (DATABASE_URL, else DATA_DIR), as GET/POST /api/v1/api-keys do
them over the API. A new key is printed once, on stdout, and never again (only its hash is kept).
This is also how a lost admin key is replaced: \`keys create --name ops --role admin\` needs access
to the database, never a key, so it works only where the database is reachable (docs/auth.md).
While \`serve\` runs on the embedded database it asks that process over DATA_DIR/run/operator.sock
(only the data directory's owner can connect); a key revoked so stops there at once.

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
  try {
    return await plan(config);
  } catch (err) {
    return refusedOrThrow(err);
  }
}

type Plan = (config: Config) => Promise<number>;

/** What to do, or why the arguments cannot say it (a usage error, before anything is opened). */
function planOf(action: string, v: ParsedValues, id: string | undefined): Plan | string {
  switch (action) {
    case 'list':
      return async (config) => {
        const { keys } = (await operate(config, 'keys.list', {})).result;
        console.log(v['json'] ? JSON.stringify({ keys }, null, 2) : formatKeys(keys));
        return 0;
      };
    case 'create': {
      const name = v['name'];
      const role = v['role'];
      if (typeof name !== 'string' || name.trim() === '') return 'keys create needs --name';
      if (!API_KEY_ROLES.includes(role as ApiKeyRole))
        return `--role must be one of ${API_KEY_ROLES.join(', ')}`;
      return async (config) => {
        const { key } = (
          await operate(config, 'keys.create', { name: name.trim(), role: role as ApiKeyRole })
        ).result;
        console.error(`Created ${role} key "${name.trim()}". It is shown once; store it now:`);
        console.log(key);
        return 0;
      };
    }
    case 'revoke':
      if (id === undefined) return 'keys revoke needs the key id (see keys list)';
      return async (config) => {
        const change = (await operate(config, 'keys.revoke', { id: Number(id) })).result;
        if (change.kind !== 'done') return refused(change, id);
        console.log(`Revoked key ${id} (${change.key.prefix}, ${change.key.role} "${change.key.name}").`);
        return 0;
      };
    case 'rotate': {
      if (id === undefined) return 'keys rotate needs the key id (see keys list)';
      const overlap = overlapSeconds(v['overlap']);
      if (typeof overlap === 'string') return overlap;
      return async (config) => {
        const result = (await operate(config, 'keys.rotate', { id: Number(id), overlapSeconds: overlap }))
          .result;
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
