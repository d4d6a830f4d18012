CREATE TABLE "campaigns" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"request_hash" text NOT NULL,
	"spec" jsonb NOT NULL,
	"state" text DEFAULT 'draft' NOT NULL,
	"start_at" timestamp with time zone,
	"expand_cursor" bigint,
	"expanded" boolean DEFAULT false NOT NULL,
	"queued_count" integer DEFAULT 0 NOT NULL,
	"unknown_users" integer DEFAULT 0 NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	CONSTRAINT "campaigns_state_check" CHECK ("campaigns"."state" in ('draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled'))
);
--> statement-breakpoint
DROP INDEX "deliveries_due_idx";--> statement-breakpoint
CREATE INDEX "campaigns_state_idx" ON "campaigns" USING btree ("state") WHERE "campaigns"."state" in ('scheduled', 'running');--> statement-breakpoint
CREATE INDEX "deliveries_campaign_due_idx" ON "deliveries" USING btree ("channel","next_attempt_at") WHERE "deliveries"."status" = 'queued' and ("deliveries"."details"->>'campaign') is not null;--> statement-breakpoint
CREATE INDEX "deliveries_campaign_idx" ON "deliveries" USING btree (("details"->>'campaign'),"status") WHERE ("deliveries"."details"->>'campaign') is not null;--> statement-breakpoint
CREATE INDEX "deliveries_due_idx" ON "deliveries" USING btree ("channel","next_attempt_at") WHERE "deliveries"."status" = 'queued' and ("deliveries"."details"->>'campaign') is null;--> statement-breakpoint
-- The claim in two lanes (issue 19): per channel, the regular due rows first, oldest due first, and
-- only the slots they leave go to campaign rows (details.campaign). Each arm reads its own partial
-- index (deliveries_due_idx, deliveries_campaign_due_idx) and stops at its limit, so a campaign
-- backlog of 100,000 due rows costs an order's claim nothing: when the regular rows fill the want
-- the campaign arm's limit is 0 and it reads no row. Campaigns' own pace is set by their due times (src/campaigns/).
CREATE OR REPLACE FUNCTION lc_claim_deliveries(p_wants jsonb, p_owner text, p_lease_ms integer, p_now timestamptz DEFAULT NULL)
RETURNS TABLE (id bigint, attempts int, max_attempts int, channel text, created_ms float8, outcome_unknown boolean,
               route jsonb, escalation jsonb, public_id text, type text, title text, message text, context jsonb,
               user_id bigint, external_id text, email text, phone text, first_name text, last_name text,
               locale text, time_zone text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
declare
  v_now timestamptz := coalesce(p_now, now());
begin
  return query
  with wants as (
    select * from jsonb_to_recordset(p_wants) as w(channel text, "limit" int)
  ), regular as (
    select p.id, w.channel
    from wants w
    cross join lateral (
      select d.id from deliveries d
      where d.status = 'queued' and (d.details->>'campaign') is null
        and d.channel = w.channel and d.next_attempt_at <= v_now
      order by d.next_attempt_at
      limit w."limit"
      for update skip locked
    ) p
  ), campaign as (
    -- Only the room the regular rows left (FOR UPDATE rules out a UNION of the two arms).
    select p.id
    from wants w
    cross join lateral (select w."limit" - (select count(*) from regular r where r.channel = w.channel) as room) k
    cross join lateral (
      select d.id from deliveries d
      where d.status = 'queued' and (d.details->>'campaign') is not null
        and d.channel = w.channel and d.next_attempt_at <= v_now
      order by d.next_attempt_at
      limit k.room
      for update skip locked
    ) p
  ), picked as (
    select id from regular union all select id from campaign
  ), claimed as (
    update deliveries d
    set status = 'sending', lease_owner = p_owner,
        lease_expires_at = v_now + p_lease_ms * interval '1 millisecond',
        attempts = d.attempts + 1, updated_at = now()
    from picked where d.id = picked.id
    returning d.id, d.notification_id, d.channel, d.attempts, d.max_attempts,
              (extract(epoch from d.created_at) * 1000)::float8 as created_ms,
              (d.details->>'outcome_unknown')::boolean as outcome_unknown,
              d.details->'route' as route,
              d.details->'escalation' as escalation
  ), history as (
    insert into delivery_status_history (delivery_id, from_status, to_status, detail)
    select c.id, 'queued', 'sending', 'attempt ' || c.attempts from claimed c
  )
  select c.id, c.attempts, c.max_attempts, c.channel, c.created_ms, c.outcome_unknown, c.route, c.escalation,
         n.notification_id, n.type, n.title, n.message, n.context,
         u.id, u.external_id, u.email, u.phone, u.first_name, u.last_name, u.locale, u.time_zone
  from claimed c
  join notifications n on n.id = c.notification_id
  join users u on u.id = n.user_id;
end $$;
--> statement-breakpoint
-- campaign.started / campaign.completed / campaign.cancelled (src/webhooks), written in the
-- transaction of the state change like every other event; a resume (paused -> running) is no start.
CREATE FUNCTION lc_webhook_campaign_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM lc_webhook_emit(
    CASE NEW.state WHEN 'running' THEN 'campaign.started' ELSE 'campaign.' || NEW.state END,
    jsonb_build_array(jsonb_build_object(
      'campaign_id', NEW.id, 'name', NEW.name, 'state', NEW.state,
      'at', coalesce(CASE WHEN NEW.state = 'running' THEN NEW.started_at ELSE NEW.finished_at END, now()))));
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "campaigns_webhook_update" AFTER UPDATE OF "state" ON "campaigns" FOR EACH ROW
  WHEN (OLD.state IS DISTINCT FROM NEW.state
        AND ((NEW.state = 'running' AND OLD.state IN ('draft', 'scheduled')) OR NEW.state IN ('completed', 'cancelled'))
        AND lc_webhook_wanted(CASE NEW.state WHEN 'running' THEN 'campaign.started' ELSE 'campaign.' || NEW.state END))
  EXECUTE FUNCTION lc_webhook_campaign_changed();
