import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { waitFor } from '../helpers/fixtures.ts';
import { PROCESS_MS, ROOT } from '../process/cli.ts';
import { healthcheckCommand, type Instruction, parseDockerfile } from './dockerfile-parser.ts';
import { copyBuildContext, dockerignore, imageScript } from './image-script.ts';

const dockerfile = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const only = (keyword: string): Instruction[] => dockerfile.filter((i) => i.keyword === keyword);
const IMAGE_DATA_DIR = '/var/lib/laundryconnect-notify';

describe('Dockerfile', () => {
  test('Node 24 slim base, npm ci of the production dependencies, a non-root USER, the service as entry', () => {
    assert.deepEqual(
      only('FROM').map((i) => i.args),
      ['node:24-bookworm-slim'],
    );
    const runs = only('RUN').map((i) => i.args);
    assert.ok(
      runs.some((r) => /^npm ci --omit=dev\b/.test(r)),
      `an npm ci --omit=dev step: ${runs.join(' | ')}`,
    );
    const users = only('USER');
    assert.equal(users.length, 1);
    assert.ok(!['root', '0', '0:0'].includes(users[0]!.args), `USER ${users[0]!.args} is not root`);
    // USER comes after every RUN: no build step is left to run as the service's user by accident, and
    // the image's last word is the unprivileged one.
    assert.ok(dockerfile.indexOf(users[0]!) > dockerfile.lastIndexOf(only('RUN').at(-1)!));
    assert.deepEqual(only('ENTRYPOINT')[0]?.exec, ['node', 'bin/laundryconnect-notify.js']);
    assert.deepEqual(only('CMD')[0]?.exec, ['serve']);
    const health = only('HEALTHCHECK')[0];
    assert.ok(health, 'a HEALTHCHECK');
    assert.match(healthcheckCommand(health)!.join(' '), /\/healthz/);
  });

  test('.dockerignore keeps modules, data, secrets and version control out of the build context', () => {
    const ignored = dockerignore(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));
    for (const path of [
      'node_modules',
      'node_modules/pg/package.json',
      '.git',
      'data',
      '.env',
      'deploy/notify.env',
    ]) {
      assert.ok(ignored(path), `${path} is ignored`);
    }
    // What the COPY steps take must be in the context.
    for (const copy of only('COPY')) {
      for (const src of copy.args.split(/\s+/).slice(0, -1)) assert.ok(!ignored(src), `${src} is sent`);
    }
  });

  test("the build's steps run as a script, and its CMD starts the service as the non-root user: /healthz answers, the image's health check passes", {
    skip: namespaceUnavailable(),
  }, async (ctx) => {
    const scratch = mkdtempSync(join(tmpdir(), 'lcn-image-'));
    chmodSync(scratch, 0o755);
    const context = join(scratch, 'context');
    copyBuildContext(ROOT, context);
    const image = imageScript(dockerfile, {
      context,
      scratch,
      nodeDir: dirname(process.execPath),
      fallbackNodeModules: realpathSync(join(ROOT, 'node_modules')),
      // As `docker run -e PORT=0 -e HOST=127.0.0.1`: a free port, and on loopback only here.
      runEnv: { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    });
    // No `--fork`: unshare execs bash, which execs the service, so this pid is the service's.
    const child = spawn('unshare', ['--mount', 'bash', '-c', image.script], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, npm_config_offline: 'true' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c;
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c;
    });
    const exited = new Promise<number | string>((resolve) =>
      child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
    );
    try {
      const url = await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}\n${out}\n${err}`);
          return /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
        },
        // npm ci is tried first (and may fail offline), then a fresh embedded database is created.
        PROCESS_MS * 3,
        `the service to listen\n${out}\n${err}`,
      );
      if (err.includes('NPM_CI_FALLBACK')) {
        ctx.diagnostic(
          "npm ci --omit=dev could not install offline from this machine's npm cache " +
            `(${/npm error code (\S+)/.exec(err)?.[1] ?? 'see stderr'}): the CMD ran against the repository's node_modules`,
        );
      } else {
        assert.ok(existsSync(`/proc/${child.pid}/root/opt/laundryconnect-notify/node_modules/fastify`));
      }
      const health = await fetch(`${url}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: 'ok' });

      // The process runs as the image's USER (node, uid 1000), not root.
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      assert.match(status, /^Uid:\s+1000\s+1000\s+1000\s+1000$/m, status);
      // …and wrote its embedded database in the image's data directory, which it owns.
      assert.ok(
        existsSync(`/proc/${child.pid}/root${IMAGE_DATA_DIR}/pglite/PG_VERSION`),
        'PGlite data in DATA_DIR',
      );

      // The HEALTHCHECK's own command, in the container's environment (PORT is the real port there).
      const check = healthcheckCommand(only('HEALTHCHECK')[0]!)!;
      const port = new URL(url).port;
      const run = () =>
        spawnSync(check[0] === 'node' ? process.execPath : check[0]!, check.slice(1), {
          env: { PATH: process.env['PATH'], PORT: port },
          timeout: 10_000,
        }).status;
      assert.equal(run(), 0, 'health check passes while the service runs');

      child.kill('SIGTERM');
      assert.equal(await exited, 0, `stopped cleanly\n${out}\n${err}`);
      assert.match(out, /Stopped cleanly/);
      assert.equal(run(), 1, 'health check fails once the service is gone');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

/** The script needs a private mount namespace: root on Linux (as this machine's test runs are). */
function namespaceUnavailable(): string | false {
  if (process.platform !== 'linux' || process.getuid?.() !== 0)
    return 'needs root on Linux (mount namespace)';
  if (spawnSync('unshare', ['--mount', 'true']).status !== 0) return 'unshare --mount is not available here';
  if (spawnSync('setpriv', ['--help']).status !== 0) return 'setpriv (util-linux) is not installed';
  return false;
}
