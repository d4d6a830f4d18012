import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { ERRORS } from '../../src/errors.ts';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

test('docs/errors.md lists every code of the error catalogue', () => {
  const doc = read('docs/errors.md');
  const missing = Object.keys(ERRORS).filter((code) => !doc.includes(`\`${code}\``));
  assert.deepEqual(missing, []);
});

test('docs/configuration.md documents every configuration variable', () => {
  const doc = read('docs/configuration.md');
  const missing = Object.keys(loadConfig({})).filter((key) => !doc.includes(key));
  assert.deepEqual(missing, []);
});

test('the README quick start is exactly the two commands', () => {
  const readme = read('README.md');
  assert.ok(readme.includes('npm install && npm start'));
  assert.ok(readme.includes('npm install && npm test'));
});

test('docs/templates.md and docs/events.md match the catalog, templates and event table', async () => {
  const { templatesDoc, eventsDoc } = await import('../../scripts/catalog-docs.ts');
  assert.equal(read('docs/templates.md'), await templatesDoc(), 'run `node scripts/catalog-docs.ts`');
  assert.equal(read('docs/events.md'), eventsDoc(), 'run `node scripts/catalog-docs.ts`');
});

test("docs/errors.md's delivery errors match their catalogue: every code documented, none that does not exist", async () => {
  const { errorsDoc } = await import('../../scripts/catalog-docs.ts');
  const doc = read('docs/errors.md');
  assert.equal(doc, errorsDoc(doc), 'run `node scripts/catalog-docs.ts`');
});

test("docs/sms.md's routing example is the built-in configuration, and parses", async () => {
  const { DEFAULT_ROUTING, parseRoutingConfig } = await import(
    '../../src/channels/sms/routing/routing-config.ts'
  );
  const doc = read('docs/sms.md');
  const example = /The built-in configuration, as a file[\s\S]*?```json\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(example, 'the example follows "The built-in configuration, as a file"');
  assert.deepEqual(parseRoutingConfig(example), DEFAULT_ROUTING);
  assert.deepEqual(JSON.parse(example), DEFAULT_ROUTING, 'every health field spelt out');
});
