import { getTableColumns, type InferSelectModel } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';

/**
 * A row that came back as JSON from hand-written SQL (`row_to_json`, `jsonb_agg`), decoded into the
 * same shape Drizzle gives for the table: camelCase keys, Dates, numbers. Lets one statement
 * return several tables' rows while the code above still sees typed rows.
 */
export function decodeRow<T extends PgTable>(table: T, raw: Record<string, unknown>): InferSelectModel<T> {
  const out: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    const value = raw[column.name];
    out[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return out as InferSelectModel<T>;
}
