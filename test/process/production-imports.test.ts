/**
 * `npm ci --omit=dev` installs only `dependencies`, so production code (src/, bin/) may import
 * nothing else. A real production install per run is too slow here; this static check reads every
 * import specifier with the TypeScript parser instead. `import type` is exempt: type stripping
 * removes it before Node resolves anything.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BUILTINS = new Set(builtinModules);

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(ts|js)$/.test(f))
    .map((f) => path.join(dir, f));
}

/** The module specifiers a file loads at run time (static, re-exports and dynamic `import()`). */
function runtimeSpecifiers(code: string, fileName = 'x.ts'): string[] {
  const specs: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly) {
      specs.push((node.moduleSpecifier as ts.StringLiteral).text);
    } else if (ts.isExportDeclaration(node) && !node.isTypeOnly && node.moduleSpecifier) {
      specs.push((node.moduleSpecifier as ts.StringLiteral).text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      specs.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(fileName, code, ts.ScriptTarget.Latest, false));
  return specs;
}

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`; undefined for relative and builtin specifiers. */
function packageOf(spec: string): string | undefined {
  if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:') || BUILTINS.has(spec)) {
    return undefined;
  }
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

test('the parser sees static, multi-line, re-exported and dynamic imports, and skips import type', () => {
  const code = [
    "import { a } from 'x';",
    "import {\n  b,\n  type C,\n} from '@s/y/sub';",
    "import type { D } from 'types-only';",
    "export { e } from 'z';",
    "export type { F } from 'types-too';",
    "import 'side-effect';",
    "const m = await import('dyn');",
  ].join('\n');
  assert.deepEqual(runtimeSpecifiers(code).map(packageOf), ['x', '@s/y', 'z', 'side-effect', 'dyn']);
});

test('production code (src/, bin/) imports only packages listed in dependencies', () => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const allowed = new Set(Object.keys(pkg.dependencies));
  const files = [...sourceFiles('src'), ...sourceFiles('bin')];
  assert.ok(files.length > 50, `found the source files (${files.length})`);
  const offenders: string[] = [];
  for (const file of files) {
    for (const spec of runtimeSpecifiers(readFileSync(path.join(ROOT, file), 'utf8'), file)) {
      const name = packageOf(spec);
      if (name !== undefined && !allowed.has(name)) offenders.push(`${file}: ${spec}`);
    }
  }
  assert.deepEqual(offenders, [], 'move these packages to "dependencies" or stop importing them');
});
