/** An instant as a query parameter; null lets the SQL fall back to the database's now(). */
export function sqlInstant(now: Date | null): string | null {
  return now?.toISOString() ?? null;
}
