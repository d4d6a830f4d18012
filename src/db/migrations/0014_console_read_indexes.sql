-- Indexes for the console's reads at volume (issue 15; figures in docs/performance.md): the stats
-- window on deliveries.created_at, and the activity list's newest-first pages overall, per type, by
-- error code and by delivery status and channel. Without them each is a scan of the whole table.
--
-- Plain CREATE INDEX, not CONCURRENTLY: drizzle's migrator runs all pending migrations in one
-- transaction (src/db/migrate.ts), and CREATE INDEX CONCURRENTLY cannot run inside one. A plain
-- build blocks writes to the table (not reads) while it runs: instant on a new or small database,
-- seconds per index on millions of rows. A large live database creates them first, by hand and
-- CONCURRENTLY (the statements are in docs/performance.md); IF NOT EXISTS then finds them and this
-- migration changes nothing.
CREATE INDEX IF NOT EXISTS "deliveries_created_idx" ON "deliveries" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "notifications_created_idx" ON "notifications" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "notifications_type_created_idx" ON "notifications" USING btree ("type","created_at","id");--> statement-breakpoint
-- Partial: only failed (and some retried) deliveries carry a code.
CREATE INDEX IF NOT EXISTS "deliveries_error_code_idx" ON "deliveries" USING btree ("error_code") WHERE "deliveries"."error_code" is not null;--> statement-breakpoint
-- A status-and-channel filter that matches few or no rows ("in-app deliveries that failed") would
-- otherwise walk every notification newest-first looking for one. The statistics tell the planner
-- which channel × status pairs are rare (status and channel are far from independent: in-app is
-- never "sent", push never "delivered"), so it starts from this index for those and from the
-- newest notifications for the common ones.
CREATE INDEX IF NOT EXISTS "deliveries_status_channel_idx" ON "deliveries" USING btree ("status","channel","notification_id");--> statement-breakpoint
CREATE STATISTICS IF NOT EXISTS "deliveries_channel_status_stats" (mcv) ON "channel", "status" FROM "deliveries";
