import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The package version, read once so the API, CLI and OpenAPI document agree. */
export const VERSION: string = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8'),
).version;
