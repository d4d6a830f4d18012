import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { VONAGE_SANDBOX_DEFAULTS } from '../../src/sandbox/vonage/account.ts';

const CLI = fileURLToPath(new URL('../../src/sandbox/cli.ts', import.meta.url));
const RUN = `const { runSandboxCommand } = await import(${JSON.stringify(CLI)});
process.exitCode = await runSandboxCommand(process.argv.slice(1));`;

function runCli(args: string[]) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', RUN, '--', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk;
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk;
  });
  /** Resolves once stdout holds `text` (the banner printed), rejects if the process exits first. */
  const printed = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!out.includes(text)) return;
        child.stdout?.off('data', check);
        child.off('exit', exited);
        resolve();
      };
      const exited = () => reject(new Error(`exited before printing "${text}": ${out}${err}`));
      child.stdout?.on('data', check);
      child.once('exit', exited);
      check();
    });
  return { child, stdout: () => out, stderr: () => err, printed };
}

async function exitCode(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = await once(child, 'exit');
  return code as number | null;
}

test('--help prints usage and exits 0', async () => {
  const { child, stdout } = runCli(['--help']);
  assert.equal(await exitCode(child), 0);
  assert.match(stdout(), /Usage: laundryconnect-notify sandbox/);
  assert.match(stdout(), /--faults <json\|@file>/);
});

test('an unknown option or bad fault JSON exits 2 with the usage', async () => {
  const unknown = runCli(['--bogus']);
  assert.equal(await exitCode(unknown.child), 2);
  assert.match(unknown.stderr(), /Usage:/);
  const badFaults = runCli(['--faults', '{"rate429": 7}']);
  assert.equal(await exitCode(badFaults.child), 2);
  assert.match(badFaults.stderr(), /invalid --faults/);
});

test('the sandbox starts, serves, masks a supplied token and stops cleanly on SIGTERM', async (t) => {
  const token = 'abcdef0123456789abcdef0123456789';
  const { child, stdout, printed } = runCli([
    '--port',
    '0',
    '--auth-token',
    token,
    '--faults',
    '{"rate429":1}',
  ]);
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await printed('auth token');
  const url = /listening on (http:\/\/\S+)/.exec(stdout())?.[1];
  assert.ok(url, stdout());
  assert.match(stdout(), /auth token {3}abcdef0123\.\.\./);
  assert.ok(!stdout().includes(token), 'the full token is never printed');

  const faults = await fetch(`${url}/sandbox/faults`);
  assert.deepEqual(await faults.json(), { rate429: 1 });

  child.kill('SIGTERM');
  assert.equal(await exitCode(child), 0);
});

test('the banner names the Vonage API key and never prints its secrets', async (t) => {
  const { child, stdout, printed } = runCli(['--port', '0']);
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await printed('signatures');
  const { apiKey, apiSecret, signatureSecret } = VONAGE_SANDBOX_DEFAULTS;
  assert.match(stdout(), new RegExp(`API key {6}${apiKey}`));
  assert.ok(!stdout().includes(apiSecret) && !stdout().includes(signatureSecret), 'no secret printed');
  child.kill('SIGTERM');
  assert.equal(await exitCode(child), 0);
});
