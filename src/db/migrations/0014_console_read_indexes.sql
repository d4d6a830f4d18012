-- The console's reads at volume (issue 15; figures in docs/performance.md): indexes for the stats
-- window on deliveries.created_at and the activity list's newest-first pages overall, per type, by
-- error code and by delivery status and channel; then the stats rollup (below).
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
--> statement-breakpoint
-- The stats rollup (docs/stats.md#the-rollup): figures per 15-minute UTC slot, sealed by a periodic
-- job for slots over two hours old, read by the stats for the sealed slots of a window (the rest from
-- the rows). Every current zone's offset is a multiple of 15 minutes, so a slot lies inside one
-- local hour and day. A slot whose rows change after sealing is marked dirty (triggers below): the
-- stats read it from the rows until the job seals it again. Exact by construction: a slot is read
-- from the rollup only when nothing in it changed since it was computed.
CREATE TABLE "stats_seal" (
  "id" integer PRIMARY KEY DEFAULT 1 CHECK ("id" = 1),
  -- Every slot before this instant is sealed (has its rollup rows, or none for an empty slot);
  -- null until the first seal.
  "sealed_to" timestamp with time zone
);--> statement-breakpoint
INSERT INTO "stats_seal" ("id") VALUES (1);--> statement-breakpoint
-- No primary key: a change inserts its own mark even when the slot is marked already, so a seal
-- running meanwhile (which deletes the marks it saw) cannot take the mark a change still relies on.
CREATE TABLE "stats_dirty_slots" ("slot" timestamp with time zone NOT NULL);--> statement-breakpoint
CREATE INDEX "stats_dirty_slots_slot_idx" ON "stats_dirty_slots" USING btree ("slot");--> statement-breakpoint
-- No primary key: a re-seal deletes a slot's rows and inserts its new ones in one statement.
CREATE TABLE "stats_delivery_slots" (
  "slot" timestamp with time zone NOT NULL,
  "channel" text NOT NULL,
  "status" text NOT NULL,
  "skip_reason" text,
  "error_code" text,
  "handed" boolean NOT NULL,
  "n" integer NOT NULL,
  "segments" bigint NOT NULL,
  "estimated" numeric,
  "reported" numeric,
  "priced" integer NOT NULL,
  "currency" text
);--> statement-breakpoint
CREATE INDEX "stats_delivery_slots_slot_idx" ON "stats_delivery_slots" USING btree ("slot");--> statement-breakpoint
CREATE TABLE "stats_type_slots" (
  "slot" timestamp with time zone NOT NULL,
  "type" text NOT NULL,
  "notifications" integer NOT NULL,
  "delivered" integer NOT NULL,
  "failed" integer NOT NULL,
  "skipped" integer NOT NULL,
  "pending" integer NOT NULL
);--> statement-breakpoint
CREATE INDEX "stats_type_slots_slot_idx" ON "stats_type_slots" USING btree ("slot");--> statement-breakpoint
-- Marks the slots a changed row counts in: its own, and for a delivery its notification's (the
-- per-type figures count deliveries in their notification's slot).
CREATE FUNCTION lc_stats_mark_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
begin
  if TG_OP <> 'INSERT' then
    insert into stats_dirty_slots values (date_bin('15 minutes', OLD.created_at, timestamptz '2000-01-01 00:00:00+00'));
    if TG_TABLE_NAME = 'deliveries' then
      insert into stats_dirty_slots
      select date_bin('15 minutes', n.created_at, timestamptz '2000-01-01 00:00:00+00') from notifications n
      where n.id = OLD.notification_id;
    end if;
  end if;
  if TG_OP <> 'DELETE' then
    insert into stats_dirty_slots values (date_bin('15 minutes', NEW.created_at, timestamptz '2000-01-01 00:00:00+00'));
    if TG_TABLE_NAME = 'deliveries' then
      insert into stats_dirty_slots
      select date_bin('15 minutes', n.created_at, timestamptz '2000-01-01 00:00:00+00') from notifications n
      where n.id = NEW.notification_id;
    end if;
  end if;
  return null;
end $$;--> statement-breakpoint
-- Only rows over an hour old (the job seals slots over two hours old, so the hour between covers a
-- transaction still open when its slot is sealed): the hot path's fresh rows never call the
-- function, the condition is all they pay. clock_timestamp(), not now(): a long transaction's
-- start must not make an old row look fresh. Deliveries are created with their notification (one
-- statement, lc_insert_notification), so a delivery is as old as its notification.
CREATE TRIGGER "deliveries_stats_dirty_insert" AFTER INSERT ON "deliveries" FOR EACH ROW
  WHEN (NEW.created_at < clock_timestamp() - interval '1 hour') EXECUTE FUNCTION lc_stats_mark_dirty();--> statement-breakpoint
-- An update counts only when it changes a column the figures read (not a lease, not updated_at).
CREATE TRIGGER "deliveries_stats_dirty_update" AFTER UPDATE ON "deliveries" FOR EACH ROW
  WHEN ((OLD.created_at < clock_timestamp() - interval '1 hour' OR NEW.created_at < clock_timestamp() - interval '1 hour')
    AND (OLD.notification_id, OLD.channel, OLD.status, OLD.skip_reason, OLD.error_code, OLD.sent_at, OLD.cost_amount,
         OLD.cost_currency, OLD.details, OLD.created_at)
        IS DISTINCT FROM (NEW.notification_id, NEW.channel, NEW.status, NEW.skip_reason, NEW.error_code, NEW.sent_at,
         NEW.cost_amount, NEW.cost_currency, NEW.details, NEW.created_at))
  EXECUTE FUNCTION lc_stats_mark_dirty();--> statement-breakpoint
CREATE TRIGGER "deliveries_stats_dirty_delete" AFTER DELETE ON "deliveries" FOR EACH ROW
  WHEN (OLD.created_at < clock_timestamp() - interval '1 hour') EXECUTE FUNCTION lc_stats_mark_dirty();--> statement-breakpoint
CREATE TRIGGER "notifications_stats_dirty_insert" AFTER INSERT ON "notifications" FOR EACH ROW
  WHEN (NEW.created_at < clock_timestamp() - interval '1 hour') EXECUTE FUNCTION lc_stats_mark_dirty();--> statement-breakpoint
-- Reading a notification (read_at) changes no figure.
CREATE TRIGGER "notifications_stats_dirty_update" AFTER UPDATE ON "notifications" FOR EACH ROW
  WHEN ((OLD.created_at < clock_timestamp() - interval '1 hour' OR NEW.created_at < clock_timestamp() - interval '1 hour')
    AND (OLD.type, OLD.created_at) IS DISTINCT FROM (NEW.type, NEW.created_at))
  EXECUTE FUNCTION lc_stats_mark_dirty();--> statement-breakpoint
CREATE TRIGGER "notifications_stats_dirty_delete" AFTER DELETE ON "notifications" FOR EACH ROW
  WHEN (OLD.created_at < clock_timestamp() - interval '1 hour') EXECUTE FUNCTION lc_stats_mark_dirty();
