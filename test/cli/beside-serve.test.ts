import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openDatabase } from '../../src/db/database.ts';
import { runMigrations } from '../../src/db/migrate.ts';
import { operatorSocketPath } from '../../src/operator/operator-socket.ts';
import { ENGINE, silentLogger } from '../helpers/test-db.ts';
import { listeningUrl, PROCESS_MS, ROOT, runCli, runToExit, tempDataDir } from '../process/cli.ts';
import { EXPECTED_DELETED, seedRetention, tableCounts, WINDOW_DAYS } from '../retention/fixture.ts';

// Only the embedded database has one process per data directory; on PostgreSQL every command
// connects to the database itself, beside any number of running processes.
const skip = ENGINE === 'postgres';

const SID = `AC${'5eed0123'.repeat(4)}`;
const TOKEN = 'c0ffeec0ffeec0ffeec0ffeec0ffee99';
const ADMIN = 'lcn_test_admin_key_beside_serve';
/** The serve's SMS backend: its built-in sandbox, on an account the test knows. */
const SMS_ENV = {
  SMS_BACKEND: 'sandbox',
  SMS_SANDBOX_URL: '',
  TWILIO_ACCOUNT_SID: SID,
  TWILIO_AUTH_TOKEN: TOKEN,
};

/** A raw request on the operator socket, as any local process of the owner could make it. */
function onSocket(dataDir: string, path: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: operatorSocketPath(dataDir), method: 'POST', path }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the CLI beside a running serve on the embedded database', { skip }, () => {
  test('keys, templates, test-sms and sms status run inside the serve, on its database and sandbox', async () => {
    const data = tempDataDir();
    const templates = mkdtempSync(join(tmpdir(), 'lcn-templates-'));
    const serve = runCli(['serve'], { DATA_DIR: data.dir, PORT: '0', ADMIN_API_KEY: ADMIN, ...SMS_ENV });
    // The CLI is given the data directory only: everything else it learns from the running serve.
    const env = { DATA_DIR: data.dir };
    try {
      const url = await listeningUrl(serve);
      const api = (key: string, method: string, path: string, body?: unknown) =>
        fetch(url + path, {
          method,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });

      // keys: a key made through the socket works against the running API; revoked, it stops at once.
      const made = await runToExit(
        ['keys', 'create', '--name', 'backend', '--role', 'service'],
        env,
        PROCESS_MS,
      );
      assert.equal(made.code, 0, made.stderr);
      const key = made.stdout.trim();
      assert.match(key, /^lcn_svc_/);
      const user = { email: 'asha@example.com', phone: '+919812345678', first_name: 'Asha', locale: 'en' };
      assert.equal((await api(key, 'PUT', '/api/v1/users/cust_8812', user)).status, 201);
      const listed = await runToExit(['keys', 'list', '--json'], env, PROCESS_MS);
      assert.equal(listed.code, 0, listed.stderr);
      const { keys } = JSON.parse(listed.stdout) as {
        keys: Array<{ id: number; name: string; role: string }>;
      };
      const backend = keys.find((k) => k.name === 'backend');
      assert.equal(backend?.role, 'service');

      // templates: loaded by the serve, which sends the new text without a restart.
      const file = readFileSync(join(ROOT, 'templates', 'en', 'order_confirmed.json'), 'utf8');
      const { dlt_template_id: _id, dlt_text: _text, ...fields } = JSON.parse(file) as Record<string, string>;
      fields['sms'] =
        'LaundryConnect: Order #{{ order.order_number }} confirmed through the operator socket.';
      mkdirSync(join(templates, 'en'));
      writeFileSync(join(templates, 'en', 'order_confirmed.json'), JSON.stringify(fields));
      const loaded = await runToExit(['load-notification-templates', '--dir', templates], env, PROCESS_MS);
      assert.equal(loaded.code, 0, loaded.stderr);
      assert.match(loaded.stdout, /^Templates: 8 created, 0 updated, 0 unchanged$/m);
      assert.match(loaded.stderr, /Loaded by the running serve, which uses them now/);
      const check = await runToExit(
        ['load-notification-templates', '--check', 'order_confirmed'],
        env,
        PROCESS_MS,
      );
      assert.equal(check.code, 0, check.stderr);
      assert.match(check.stdout, /^✓ order_confirmed has active templates: en \(8 fields, v1\)$/m);

      // test-sms: sent by the serve into its own sandbox, whose URL and account are printed masked.
      const sent = await runToExit(['test-sms', '--user-email', 'Asha@Example.com'], env, PROCESS_MS);
      assert.equal(sent.code, 0, sent.stderr);
      assert.match(
        sent.stdout,
        /^Sending order_confirmed to Asha@Example\.com \(user cust_8812, locale en\)/m,
      );
      const sid = /✓ SMS sent: (SM[0-9a-f]{32})/.exec(sent.stdout)?.[1];
      assert.ok(sid, sent.stdout);
      const sandboxUrl =
        /^ {2}Sandbox: (http:\/\/127\.0\.0\.1:\d+) \(the running serve's built-in sandbox/m.exec(
          sent.stdout,
        )?.[1];
      assert.ok(sandboxUrl, sent.stdout);
      assert.match(sent.stdout, /^ {2}Sandbox Account SID: AC5eed0123\.\.\.$/m);
      assert.match(sent.stdout, /^ {2}Sandbox Auth Token: c0ffeec0ff\.\.\.$/m);
      assert.ok(!`${sent.stdout}${sent.stderr}`.includes(TOKEN), 'the auth token is never printed whole');
      const basic = `Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`;
      const message = (await (
        await fetch(`${sandboxUrl}/2010-04-01/Accounts/${SID}/Messages/${sid}.json`, {
          headers: { authorization: basic },
        })
      ).json()) as { to: string; body: string };
      assert.equal(message.to, '+919812345678');
      assert.match(message.body, /confirmed through the operator socket\.$/, 'the template loaded above');

      // sms status: asked of the serve's sandbox, which a separate process could not find.
      const status = await runToExit(['sms', 'status', sid], env, PROCESS_MS);
      assert.equal(status.code, 0, status.stderr);
      const parsed = JSON.parse(status.stdout) as { sid: string; to: string };
      assert.equal(parsed.sid, sid);
      assert.equal(parsed.to, '+919812345678');
      assert.match(
        status.stderr,
        /Sandbox: http:\/\/127\.0\.0\.1:\d+ \(the running serve's built-in sandbox/,
      );

      const revoked = await runToExit(['keys', 'revoke', String(backend!.id)], env, PROCESS_MS);
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.equal(
        (await api(key, 'GET', '/api/v1/users/cust_8812')).status,
        401,
        'revoked in the serve at once',
      );

      // The socket's surface is the fixed list, each input checked: nothing else runs there.
      const unknown = await onSocket(data.dir, '/operations/sql', '{"query":"select 1"}');
      assert.equal(unknown.status, 404);
      const badRole = await onSocket(data.dir, '/operations/keys.create', '{"name":"x","role":"root"}');
      assert.equal(badRole.status, 422);
      assert.match(JSON.parse(badRole.body).error, /^keys\.create: role: /);

      serve.child.kill('SIGTERM');
      assert.equal(await serve.exited(), 0, serve.stderr());
      assert.equal(existsSync(operatorSocketPath(data.dir)), false, 'a clean stop removes the socket');
    } finally {
      serve.kill();
      data.remove();
      rmSync(templates, { recursive: true, force: true });
    }
  });

  test('retention run and status run inside the serve, on the database it holds', async () => {
    const data = tempDataDir();
    // Old rows written before the serve starts (only one process may open the directory).
    const seeded = await openDatabase({ dataDir: data.dir, logger: silentLogger });
    let before: Record<string, number>;
    try {
      await runMigrations(seeded);
      await seedRetention(seeded.db, Date.now());
      before = await tableCounts(seeded.db);
    } finally {
      await seeded.close();
    }
    // Retention off in the serve: only the command's run deletes.
    const serve = runCli(['serve'], { DATA_DIR: data.dir, PORT: '0', ADMIN_API_KEY: ADMIN });
    const env = { DATA_DIR: data.dir };
    try {
      await listeningUrl(serve);
      const dry = await runToExit(
        ['retention', 'run', '--dry-run', '--days', String(WINDOW_DAYS), '--json'],
        env,
        PROCESS_MS,
      );
      assert.equal(dry.code, 0, dry.stderr);
      assert.deepEqual((JSON.parse(dry.stdout) as { deleted: unknown }).deleted, EXPECTED_DELETED);
      const run = await runToExit(
        ['retention', 'run', '--days', String(WINDOW_DAYS), '--json'],
        env,
        PROCESS_MS,
      );
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /Run by the running serve/);
      const report = JSON.parse(run.stdout) as { deleted: unknown; aborted: boolean };
      assert.deepEqual(report.deleted, EXPECTED_DELETED);
      assert.equal(report.aborted, false);
      const status = await runToExit(['retention', 'status', '--json'], env, PROCESS_MS);
      assert.equal(status.code, 0, status.stderr);
      const last = JSON.parse(status.stdout) as { finishedAt: string | null; deleted: unknown };
      assert.ok(last.finishedAt, status.stdout);
      assert.deepEqual(last.deleted, EXPECTED_DELETED);
      serve.child.kill('SIGTERM');
      assert.equal(await serve.exited(), 0, serve.stderr());
    } finally {
      serve.kill();
    }
    const after = await openDatabase({ dataDir: data.dir, logger: silentLogger });
    try {
      const left = await tableCounts(after.db);
      assert.equal(left['notifications'], before['notifications']! - EXPECTED_DELETED.notifications);
    } finally {
      await after.close();
      data.remove();
    }
  });

  test('a socket left by a killed serve: the CLI opens the database itself, and the next serve answers', async () => {
    const data = tempDataDir();
    const env = { DATA_DIR: data.dir };
    const first = runCli(['serve'], { DATA_DIR: data.dir, PORT: '0', ADMIN_API_KEY: ADMIN });
    let second: ReturnType<typeof runCli> | undefined;
    try {
      await listeningUrl(first);
      first.child.kill('SIGKILL');
      assert.equal(await first.exited(), 'SIGKILL');
      assert.ok(existsSync(operatorSocketPath(data.dir)), 'the dead process left its socket behind');

      const made = await runToExit(
        ['keys', 'create', '--name', 'after-crash', '--role', 'viewer'],
        env,
        PROCESS_MS,
      );
      assert.equal(made.code, 0, made.stderr);
      const key = made.stdout.trim();

      second = runCli(['serve'], { DATA_DIR: data.dir, PORT: '0', ADMIN_API_KEY: ADMIN });
      const url = await listeningUrl(second);
      const r = await fetch(`${url}/api/v1/stats`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(r.status, 200, 'the key written directly is in the database the new serve opened');
      // While this serve holds the directory, only its socket can answer: success proves it does.
      const listed = await runToExit(['keys', 'list'], env, PROCESS_MS);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /viewer\s+active\s+after-crash/);
    } finally {
      first.kill();
      second?.kill();
      data.remove();
    }
  });
});
