import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { usage } from '../../src/cli/main.ts';
import { loadConfig } from '../../src/config.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { emptyPostgresDatabase, TEST_DATABASE_URL } from '../helpers/test-db.ts';
import { BIN, type CliProcess, listeningUrl, ROOT, runCli, runToExit } from '../process/cli.ts';
import { envPairs, parseDockerfile } from './dockerfile-parser.ts';

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  env_file?: string[];
  volumes?: string[];
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: Record<string, { condition: string }>;
}
const DEPLOY = join(ROOT, 'deploy');
const compose = parse(readFileSync(join(DEPLOY, 'compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = compose.services;
const dockerfile = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const imageEnv = Object.assign({}, ...dockerfile.filter((i) => i.keyword === 'ENV').map(envPairs));
const entrypoint = dockerfile.find((i) => i.keyword === 'ENTRYPOINT')!.exec!;
const cliCommands = new Set([...usage().matchAll(/^ {2}(\S+) {2,}/gm)].map((m) => m[1]!));

/** The env file's example as KEY=value pairs (comments and empty values dropped). */
function exampleEnv(): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const line of readFileSync(join(DEPLOY, 'notify.env.example'), 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) pairs[m[1]!] = m[2]!;
  }
  return pairs;
}

/** Compose's `${VAR:?message}` and `${VAR}` interpolation from `vars`. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::\?[^}]*)?\}/g, (_, name: string) => {
    const v = vars[name];
    if (v === undefined) throw new Error(`${name} is required by compose.yaml`);
    return v;
  });
}

describe('deploy/compose.yaml', () => {
  test('PostgreSQL 17 with a volume and a health check; api and worker wait for it and for the migration', () => {
    const db = services['postgres']!;
    assert.match(db.image!, /^postgres:17(\.|-|$)/);
    const volume = db.volumes!.find((v) => v.endsWith(':/var/lib/postgresql/data'));
    assert.ok(volume, 'the data directory is a volume');
    assert.ok(volume.split(':')[0]! in compose.volumes, 'a named volume, declared');
    assert.match(db.healthcheck!.test!.join(' '), /pg_isready/);

    for (const name of ['migrate', 'api', 'worker']) {
      const s = services[name]!;
      assert.equal(resolve(DEPLOY, s.build!.context, s.build!.dockerfile), join(ROOT, 'Dockerfile'), name);
      assert.equal(s.depends_on!['postgres']!.condition, 'service_healthy', name);
      assert.deepEqual(s.env_file, ['notify.env'], `${name} reads its secrets from the env file`);
      assert.ok(cliCommands.has(s.command![0]!), `${name}: ${s.command![0]} is a CLI command`);
    }
    assert.deepEqual(services['migrate']!.command, ['migrate']);
    assert.deepEqual(services['api']!.command, ['api']);
    assert.deepEqual(services['worker']!.command, ['worker']);
    for (const name of ['api', 'worker']) {
      assert.equal(services[name]!.depends_on!['migrate']!.condition, 'service_completed_successfully');
    }
    // The api keeps the image's /healthz check; a worker has no HTTP server to ask.
    assert.equal(services['api']!.healthcheck, undefined);
    assert.equal(services['worker']!.healthcheck?.disable, true);
  });

  test('the env file example names only real settings and, filled in, is a valid configuration', () => {
    const example = exampleEnv();
    // loadConfig({}) leaves unset optional settings out: the documented list is the complete one.
    const documented = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8');
    const known = new Set([...documented.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!));
    assert.deepEqual(
      Object.keys(example).filter((k) => !known.has(k)),
      [],
    );
    const filled = { ...example, ADMIN_API_KEY: 'lcn_x', USER_TOKEN_SECRET: 's'.repeat(32) };
    const env = Object.fromEntries(Object.entries(filled).filter(([, v]) => v !== ''));
    assert.doesNotThrow(() => loadConfig(env));
    // The service's secrets are not written into compose.yaml itself.
    const text = readFileSync(join(DEPLOY, 'compose.yaml'), 'utf8');
    for (const secret of ['ADMIN_API_KEY', 'USER_TOKEN_SECRET', 'TWILIO_AUTH_TOKEN']) {
      assert.ok(!new RegExp(`^\\s*${secret}:`, 'm').test(text), `${secret} is not set in compose.yaml`);
    }
    const url = new URL(
      interpolate(services['api']!.environment!['DATABASE_URL']!, { POSTGRES_PASSWORD: 'pw' }),
    );
    const db = services['postgres']!.environment!;
    assert.equal(url.hostname, 'postgres', 'the compose service name');
    assert.equal(url.username, db['POSTGRES_USER']);
    assert.equal(url.password, 'pw');
    assert.equal(url.pathname, `/${db['POSTGRES_DB']}`);
  });

  test("each service's command runs against PostgreSQL: migrate exits 0, then api and worker deliver a notification", {
    skip: TEST_DATABASE_URL ? false : 'needs PostgreSQL (TEST_DATABASE_URL)',
  }, async () => {
    assert.deepEqual(entrypoint.slice(0, 2), ['node', 'bin/laundryconnect-notify.js']);
    assert.equal(join(ROOT, entrypoint[1]!), BIN, 'the entry point is the CLI the tests run');
    const database = await emptyPostgresDatabase('lcn_compose');
    const procs: CliProcess[] = [];
    try {
      const port = await freePort();
      const adminKey = `lcn_compose_${randomBytes(12).toString('hex')}`;
      const vars = { POSTGRES_PASSWORD: 'unused', PUBLIC_URL: `http://127.0.0.1:${port}` };
      // What a container of each service gets: the image's ENV, the env file, the service's own
      // environment; then what cannot be the same on this machine (no `postgres` host, no port 3000).
      const envOf = (service: Service) => ({
        ...imageEnv,
        ...exampleEnv(),
        ADMIN_API_KEY: adminKey,
        USER_TOKEN_SECRET: randomBytes(24).toString('hex'),
        ...Object.fromEntries(
          Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(v, vars)]),
        ),
        DATABASE_URL: database.url,
        HOST: '127.0.0.1',
        PORT: String(port),
        // The check is about the flow, not the time of day it runs at.
        QUIET_HOURS_DEFAULT: 'off',
      });
      const start = (s: string) => {
        const p = runCli(services[s]!.command!, envOf(services[s]!));
        procs.push(p);
        return p;
      };

      const migrated = await runToExit(services['migrate']!.command!, envOf(services['migrate']!));
      assert.equal(migrated.code, 0, migrated.stderr);
      assert.match(migrated.stdout, /Migrations: \d+ applied/);

      const api = start('api');
      const url = await listeningUrl(api);
      const worker = start('worker');
      await worker.waitForOutput(/Delivery worker \S+ running/);
      const health = await fetch(`${url}/healthz`);
      assert.equal(health.status, 200);
      const ready = await fetch(`${url}/readyz`);
      assert.deepEqual(await ready.json(), { status: 'ready', engine: 'postgres' });

      const call = (method: string, path: string, body: unknown) =>
        fetch(`${url}${path}`, {
          method,
          headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      assert.equal((await call('PUT', '/api/v1/users/compose-u1', { email: 'c@example.com' })).status, 201);
      const created = await call('POST', '/api/v1/notifications', {
        user_id: 'compose-u1',
        type: 'order_confirmed',
        context: { order: { order_number: 'ORD-C1', pickup_date: '2026-12-08', total: '10.00' } },
      });
      assert.equal(created.status, 201, await created.clone().text());
      const { notification_id } = (await created.json()) as { notification_id: string };
      // The api only queues; the delivery is the worker process's work.
      await waitFor(
        async () => {
          const r = await fetch(`${url}/api/v1/notifications/${notification_id}`, {
            headers: { authorization: `Bearer ${adminKey}` },
          });
          const view = (await r.json()) as { deliveries: Array<{ channel: string; status: string }> };
          return view.deliveries.find((d) => d.channel === 'in_app' && d.status === 'delivered');
        },
        30_000,
        'the in-app delivery delivered by the worker',
      );

      for (const p of procs) p.child.kill('SIGTERM');
      assert.deepEqual(await Promise.all(procs.map((p) => p.exited())), [0, 0]);
    } finally {
      for (const p of procs) p.kill();
      await database.drop();
    }
  });
});

/** A port free now, so PUBLIC_URL can name the api's address before it starts. */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
