import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { usage } from '../../src/cli/main.ts';
import { ROOT, runToExit } from '../process/cli.ts';

type Unit = Record<string, Record<string, string[]>>;

/** A unit file's sections as key → values (a key may repeat); a line that is neither fails. */
function parseUnit(text: string): Unit {
  const unit: Unit = {};
  let section: Record<string, string[]> | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header) {
      section = unit[header[1]!] ??= {};
      return;
    }
    const pair = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line);
    assert.ok(pair && section, `line ${index + 1} is a key=value inside a section: ${raw}`);
    section[pair[1]!] ??= [];
    section[pair[1]!]!.push(pair[2]!);
  });
  return unit;
}

const commands = new Set([...usage().matchAll(/^ {2}(\S+) {2,}/gm)].map((m) => m[1]!));

for (const role of ['api', 'worker']) {
  const file = join(ROOT, `deploy/systemd/laundryconnect-notify-${role}.service`);
  describe(`deploy/systemd/laundryconnect-notify-${role}.service`, () => {
    const unit = parseUnit(readFileSync(file, 'utf8'));
    const service = unit['Service'] ?? {};
    const one = (key: string) => {
      assert.equal(service[key]?.length, 1, `[Service] ${key} is set once`);
      return service[key]![0]!;
    };

    test('hardened, restarted on failure, a dedicated user, secrets from an EnvironmentFile', () => {
      assert.ok(unit['Unit'] && unit['Install'], 'Unit and Install sections');
      assert.ok(!['root', '0'].includes(one('User')), 'not root');
      assert.equal(one('NoNewPrivileges'), 'true');
      assert.equal(one('ProtectSystem'), 'strict');
      assert.equal(one('Restart'), 'on-failure');
      assert.match(one('EnvironmentFile'), /^-?\/etc\/laundryconnect-notify\/.+\.env$/);
      assert.equal(one('CapabilityBoundingSet'), '', 'no capabilities');
    });

    test(`ExecStart runs the CLI's \`${role}\` command, which exists and answers --help`, async () => {
      const [node, script, command, ...rest] = one('ExecStart').split(/\s+/);
      assert.match(node!, /^\/.*\/node$/, 'an absolute path to node');
      assert.equal(script, 'bin/laundryconnect-notify.js', 'the entry point, relative to WorkingDirectory');
      assert.equal(one('WorkingDirectory'), '/opt/laundryconnect-notify');
      assert.equal(command, role);
      assert.deepEqual(rest, []);
      assert.ok(commands.has(command!), `${command} is a CLI command`);
      const help = await runToExit([command!, '--help']);
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, /Usage: laundryconnect-notify serve\|api\|worker/);
    });

    test('systemd-analyze verify has nothing to say about it', { skip: analyzeUnavailable() }, () => {
      const result = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
      // Unknown keys and unparsable values are warnings on stderr, not a failed exit.
      const about = result.stderr
        .split('\n')
        .filter((l) => l.includes(`laundryconnect-notify-${role}.service`));
      assert.deepEqual(about, []);
      assert.equal(result.status, 0, result.stderr);
    });
  });
}

function analyzeUnavailable(): string | false {
  return spawnSync('systemd-analyze', ['--version']).status === 0
    ? false
    : 'systemd-analyze is not installed';
}
