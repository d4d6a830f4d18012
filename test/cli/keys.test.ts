import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createApiKey, findApiKey, listApiKeys } from '../../src/auth/api-keys.ts';
import { overlapSeconds } from '../../src/cli/commands/keys.ts';
import { ENGINE } from '../helpers/test-db.ts';
import { type CliDatabase, cli, cliDatabase } from './helpers.ts';

describe(`keys command (${ENGINE})`, () => {
  let data: CliDatabase;
  before(async () => {
    data = await cliDatabase();
  });
  after(async () => {
    await data?.close();
  });

  test('a lost admin key is replaced on the machine: create prints the key once, on stdout alone', async () => {
    const made = await cli(['keys', 'create', '--name', 'ops', '--role', 'admin'], data.env);
    assert.equal(made.code, 0, made.stderr);
    const key = made.stdout.trim();
    assert.match(key, /^lcn_adm_[\w-]{32}$/);
    assert.match(made.stderr, /shown once/);
    assert.equal((await data.use((db) => findApiKey(db, key)))?.role, 'admin', 'the key works');

    const listed = await cli(['keys', 'list'], data.env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^id\s+prefix\s+role\s+state/m);
    assert.match(listed.stdout, new RegExp(`${key.slice(0, 12)}…\\s+admin\\s+active\\s+ops`));
    assert.ok(!listed.stdout.includes(key), 'the list never shows a key');
  });

  test('rotate prints the new key and ends the old after the overlap; the last admin is kept', async () => {
    // Set up through the library (each CLI run starts a process: keep them to what is tested).
    await data.use((db) => createApiKey(db, 'svc', 'service'));
    const keys = await data.use((db) => listApiKeys(db));
    const svc = keys.find((k) => k.name === 'svc')!;
    const rotated = await cli(['keys', 'rotate', String(svc.id), '--overlap', '2h'], data.env);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout.trim(), /^lcn_svc_/);
    assert.match(rotated.stderr, /works until \d{4}-/);
    const revoked = await cli(['keys', 'revoke', String(svc.id)], data.env);
    assert.equal(revoked.code, 1, 'the old key is expiring, so revoked already');
    assert.match(revoked.stderr, /revoked already/);

    const admins = keys.filter((k) => k.role === 'admin' && k.state === 'active');
    assert.equal(admins.length, 1);
    const last = await cli(['keys', 'revoke', String(admins[0]!.id)], data.env);
    assert.equal(last.code, 1);
    assert.match(last.stderr, /last admin key/);
  });

  test('usage errors exit 2 before anything is opened', async () => {
    for (const args of [
      ['keys', 'create', '--name', 'x', '--role', 'root'],
      ['keys', 'revoke'],
      ['keys', 'rotate', '3', '--overlap', '31d'],
    ]) {
      const r = await cli(args, { DATA_DIR: '/nonexistent/never-opened' });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    }
  });
});

test('--overlap reads s, m, h and d, and refuses the rest', () => {
  assert.equal(overlapSeconds(undefined), 86_400);
  assert.equal(overlapSeconds('90m'), 5400);
  assert.equal(overlapSeconds('2h'), 7200);
  assert.equal(overlapSeconds('0'), 0);
  assert.equal(overlapSeconds('30d'), 30 * 86_400);
  assert.match(String(overlapSeconds('31d')), /at most 30d/);
  assert.match(String(overlapSeconds('soon')), /whole number/);
  assert.match(String(overlapSeconds('-5m')), /whole number/);
});
