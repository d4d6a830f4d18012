import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

/**
 * `npm test` runs the whole suite on the embedded engine (PGlite); `npm run test:pg` runs the same
 * suite against PostgreSQL (TEST_DATABASE_URL, default the local `test` database). One suite, two
 * engines: every test that touches the database runs on both.
 */
const { values, positionals } = parseArgs({
  options: { engine: { type: 'string', default: 'pglite' } },
  allowPositionals: true,
});
const env = { ...process.env };
delete env['DATABASE_URL'];
if (values.engine === 'postgres') {
  env['TEST_DATABASE_URL'] ??= process.env['DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/test';
} else if (values.engine !== 'pglite') {
  console.error(`Unknown engine "${values.engine}" (use pglite or postgres)`);
  process.exit(2);
} else {
  delete env['TEST_DATABASE_URL'];
}
const files = positionals.length > 0 ? positionals : ['test/**/*.test.ts'];
console.log(`Running tests on ${values.engine}`);
const result = spawnSync(
  process.execPath,
  ['--test', '--test-reporter=spec', '--test-timeout=180000', ...files],
  { stdio: 'inherit', env },
);
process.exit(result.status ?? 1);
