import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startApp } from '../../src/app.ts';
import { isStorageFull } from '../../src/database-errors.ts';
import { testConfig } from '../helpers/fixtures.ts';
import { silentLogger } from '../helpers/test-db.ts';
import { fillDisk, mountTmpfs } from '../helpers/tmpfs.ts';

const ADMIN_KEY = 'lcn_test_admin_key';

test('disk full is recognised from PGlite/PostgreSQL (53100) and Node (ENOSPC), through Drizzle causes', () => {
  const pglite = Object.assign(new Error('could not extend file "base/5/16385": No space left on device'), {
    code: '53100',
  });
  assert.equal(isStorageFull(new Error('Failed query: insert …', { cause: pglite })), true);
  assert.equal(isStorageFull(Object.assign(new Error('write failed'), { code: 'ENOSPC' })), true);
  assert.equal(isStorageFull(Object.assign(new Error('too many connections'), { code: '53300' })), false);
  assert.equal(isStorageFull(new Error('No space left on device')), false, 'by code, not by message');
});

const mount = mountTmpfs('64m');

test('embedded engine on a full disk: writes answer 503 STORAGE_FULL, /readyz fails, both recover when space returns', {
  skip: mount ? false : 'needs a tmpfs mount (root on Linux)',
  timeout: 120_000,
}, async () => {
  const dataDir = join(mount!.dir, 'data');
  const filler = join(mount!.dir, 'filler');
  const app = await startApp({
    config: testConfig({
      PORT: '0',
      ADMIN_API_KEY: ADMIN_KEY,
      DATA_DIR: dataDir,
      EMBEDDED_VACUUM_INTERVAL_MS: '0',
    }),
    api: true,
    worker: false,
    logger: silentLogger,
  });
  try {
    const url = app.url!;
    let n = 0;
    const putUser = () =>
      fetch(`${url}/api/v1/users/disk-user-${n++}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          phone: '+919876543210',
          email: 'disk@example.com',
          first_name: 'x'.repeat(100),
        }),
      });
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
    assert.equal((await putUser()).status, 201);

    fillDisk(filler);
    const ready = await fetch(`${url}/readyz`);
    const readyBody = (await ready.json()) as { code: string };
    assert.equal(ready.status, 503);
    assert.equal(readyBody.code, 'STORAGE_FULL');

    // Rows still fit in the table's last page until it is full; the first that needs a new page fails.
    let refused: Response | undefined;
    for (let i = 0; i < 5_000 && !refused; i++) {
      const res = await putUser();
      if (res.status !== 201) refused = res;
      else await res.body?.cancel();
    }
    assert.ok(refused, 'a write failed once the disk was full');
    const body = (await refused.json()) as { code: string };
    assert.equal(refused.status, 503, JSON.stringify(body));
    assert.equal(body.code, 'STORAGE_FULL');
    assert.equal(refused.headers.get('retry-after'), '30');

    rmSync(filler);
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
    assert.equal((await putUser()).status, 201);
  } finally {
    await app.close();
    mount!.remove();
  }
});
