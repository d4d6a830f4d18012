-- The fallback rule's pass (notifications/fallback-pass.ts) reads the deliveries that failed since
-- its bookmark, in (failed_at, id) order: partial, so the index holds failed rows only and the pass
-- costs what failed since it last looked. A large live database creates it first, by hand and
-- CONCURRENTLY (see 0014); IF NOT EXISTS then finds it.
CREATE INDEX IF NOT EXISTS "deliveries_failed_idx" ON "deliveries" USING btree ("failed_at","id") WHERE "deliveries"."status" = 'failed';
