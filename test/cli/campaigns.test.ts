import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ENGINE } from '../helpers/test-db.ts';
import { listeningUrl, PROCESS_MS, runCli, runToExit, tempDataDir } from '../process/cli.ts';

// The operator socket is the embedded database's (on PostgreSQL every command connects itself).
const skip = ENGINE === 'postgres';
const ADMIN = 'lcn_test_admin_key_campaigns_cli';

describe('the campaigns command beside a running serve', { skip }, () => {
  test('create from a file, estimate, start and watch the status to the end, through the serve', async () => {
    const data = tempDataDir();
    const serve = runCli(['serve'], {
      DATA_DIR: data.dir,
      PORT: '0',
      ADMIN_API_KEY: ADMIN,
      SMS_BACKEND: 'sandbox',
      OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
    });
    const env = { DATA_DIR: data.dir };
    try {
      const url = await listeningUrl(serve);
      for (const id of ['cli_1', 'cli_2', 'cli_3']) {
        const res = await fetch(`${url}/api/v1/users/${id}`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ email: id === 'cli_3' ? null : `${id}@example.com`, first_name: 'Asha' }),
        });
        assert.equal(res.status, 201);
      }
      const file = join(data.dir, 'campaign.json');
      writeFileSync(
        file,
        JSON.stringify({
          id: 'cli-offer',
          name: 'CLI offer',
          audience: { user_ids: ['cli_1', 'cli_2', 'cli_3', 'nobody'] },
          content: {
            email: {
              en: { subject: 'Fresh offer', text: 'Hi {{ first_name }}, 10% off.', html: '<p>10% off</p>' },
            },
          },
        }),
      );
      const created = await runToExit(['campaigns', 'create', file], env, PROCESS_MS);
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, /^Created: cli-offer \(draft\)$/m);
      const again = await runToExit(['campaigns', 'create', file], env, PROCESS_MS);
      assert.match(again.stdout, /^Already there \(same body\): cli-offer \(draft\)$/m);

      const estimate = await runToExit(['campaigns', 'estimate', 'cli-offer'], env, PROCESS_MS);
      assert.equal(estimate.code, 0, estimate.stderr);
      assert.match(estimate.stdout, /^Audience: 4 users \(1 unknown ids\)$/m);
      assert.match(estimate.stdout, /^email: 2 targeted; skipped no_email 1$/m);

      const started = await runToExit(['campaigns', 'start', 'cli-offer'], env, PROCESS_MS);
      assert.equal(started.code, 0, started.stderr);
      assert.match(started.stdout, /^cli-offer: running$/m);
      const watched = await runToExit(['campaigns', 'status', 'cli-offer', '--watch'], env, PROCESS_MS);
      assert.equal(watched.code, 0, watched.stderr);
      assert.match(watched.stdout, /^cli-offer: completed, 3 recipients$/m);
      assert.match(watched.stdout, /^email \[#{30}\] 2\/2 /m);
      const wrong = await runToExit(['campaigns', 'pause', 'cli-offer'], env, PROCESS_MS);
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /CAMPAIGN_STATE: Campaign "cli-offer" is completed: it cannot pause/);
    } finally {
      serve.kill();
      data.remove();
    }
  });
});
