-- Data retention (issue 20 §5, docs/retention.md): old, finished notifications (with their
-- deliveries and history), idempotency keys and inbound SMS are deleted in small batches by a
-- periodic job (src/retention/). What this needs from the schema:
--
-- Its last run, one row: the worker nodes run it once per period between them.
CREATE TABLE "retention_state" (
	"id" integer PRIMARY KEY DEFAULT 1 NOT NULL,
	"last_started_at" timestamp with time zone,
	"last_finished_at" timestamp with time zone,
	"last_deleted" jsonb,
	CONSTRAINT "retention_state_one_row" CHECK ("retention_state"."id" = 1)
);
--> statement-breakpoint
-- Inbound SMS by age (the scan), and by notification: deleting a notification sets this column
-- null, which without an index reads the whole table once per deleted notification. The other
-- children (deliveries, history) are reached by indexes they already have.
CREATE INDEX "inbound_sms_created_idx" ON "inbound_sms" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "inbound_sms_notification_idx" ON "inbound_sms" USING btree ("notification_id") WHERE "inbound_sms"."notification_id" is not null;--> statement-breakpoint
-- The stats rollup outlives the rows (docs/stats.md#the-rollup): slots before `final_before` are
-- final. Retention moves it up to its cutoff (never past what is sealed) before it deletes, so a
-- deleted row's slot is never recomputed from the rows that are left, and a change to an old row
-- (a user deleted) no longer reopens a slot whose figures the rows can no longer give.
ALTER TABLE "stats_seal" ADD COLUMN "final_before" timestamp with time zone;--> statement-breakpoint
-- Retention's deletions mark nothing dirty (the slots they touch are final): it sets lc.retention
-- for its own transactions, so the marks that would be ignored are not written at all.
CREATE OR REPLACE FUNCTION lc_stats_mark_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
begin
  if current_setting('lc.retention', true) = 'on' then
    return null;
  end if;
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
end $$;
