-- Outbound webhooks (issue 20 §1, src/webhooks/): endpoints, an outbox written by triggers in the
-- transaction of the change that causes each event (so a rolled-back change emits nothing and a
-- committed one cannot miss its event, whichever code path wrote it), and every send attempt.
CREATE TABLE "webhook_attempts" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "webhook_attempts_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"outbox_id" bigint NOT NULL,
	"endpoint_id" bigint NOT NULL,
	"attempted_at" timestamp with time zone NOT NULL,
	"status_code" integer,
	"error" text,
	"latency_ms" integer NOT NULL,
	"response_excerpt" text
);
--> statement-breakpoint
CREATE TABLE "webhook_endpoints" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "webhook_endpoints_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"url" text NOT NULL,
	"event_types" text[] DEFAULT '{}'::text[] NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"secret" text NOT NULL,
	"previous_secret" text,
	"previous_secret_until" timestamp with time zone,
	"disabled_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_outbox" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "webhook_outbox_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"message_id" text NOT NULL,
	"endpoint_id" bigint NOT NULL,
	"event_type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"lease_until" timestamp with time zone,
	"delivered_at" timestamp with time zone,
	CONSTRAINT "webhook_outbox_state_check" CHECK ("webhook_outbox"."state" in ('pending', 'failed', 'delivered', 'dead'))
);
--> statement-breakpoint
ALTER TABLE "webhook_attempts" ADD CONSTRAINT "webhook_attempts_outbox_id_webhook_outbox_id_fk" FOREIGN KEY ("outbox_id") REFERENCES "public"."webhook_outbox"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_attempts" ADD CONSTRAINT "webhook_attempts_endpoint_id_webhook_endpoints_id_fk" FOREIGN KEY ("endpoint_id") REFERENCES "public"."webhook_endpoints"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_outbox" ADD CONSTRAINT "webhook_outbox_endpoint_id_webhook_endpoints_id_fk" FOREIGN KEY ("endpoint_id") REFERENCES "public"."webhook_endpoints"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "webhook_attempts_endpoint_idx" ON "webhook_attempts" USING btree ("endpoint_id","id");--> statement-breakpoint
CREATE INDEX "webhook_attempts_outbox_idx" ON "webhook_attempts" USING btree ("outbox_id");--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_outbox_message_endpoint_key" ON "webhook_outbox" USING btree ("message_id","endpoint_id");--> statement-breakpoint
CREATE INDEX "webhook_outbox_due_idx" ON "webhook_outbox" USING btree ("endpoint_id","next_attempt_at") WHERE "webhook_outbox"."state" in ('pending', 'failed');--> statement-breakpoint
CREATE INDEX "webhook_outbox_leased_idx" ON "webhook_outbox" USING btree ("endpoint_id","lease_until") WHERE "webhook_outbox"."lease_until" is not null;--> statement-breakpoint
-- Is any enabled endpoint subscribed to this type? The first thing every trigger asks: with no
-- endpoint registered the hot path pays this one probe of an empty table and builds no payload.
CREATE FUNCTION lc_webhook_wanted(p_type text) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
  -- PL/pgSQL for its plan cache: the row triggers' WHEN clauses call this once per changed row.
  RETURN EXISTS (
    SELECT 1 FROM webhook_endpoints e
    WHERE e.enabled AND (cardinality(e.event_types) = 0 OR p_type = ANY (e.event_types)));
END $$;
--> statement-breakpoint
-- One event per element of p_payloads (a jsonb array of `data` objects), fanned out at write time to
-- every enabled endpoint subscribed to its type: one outbox row per event × endpoint, all sharing
-- the event's msg_ id. Materialized so each event draws its id once, not once per endpoint.
CREATE FUNCTION lc_webhook_emit(p_type text, p_payloads jsonb) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  -- PL/pgSQL, not SQL: its plan is cached for the session (a SQL function's is made again per call
  -- on PostgreSQL 15, which cost a millisecond an event).
  WITH events AS MATERIALIZED (
    SELECT 'msg_' || replace(gen_random_uuid()::text, '-', '') AS message_id, p.value AS payload
    FROM jsonb_array_elements(coalesce(p_payloads, '[]'::jsonb)) p
  )
  INSERT INTO webhook_outbox (message_id, endpoint_id, event_type, payload)
  SELECT ev.message_id, e.id, p_type, ev.payload
  FROM events ev CROSS JOIN webhook_endpoints e
  WHERE e.enabled AND (cardinality(e.event_types) = 0 OR p_type = ANY (e.event_types));
END $$;
--> statement-breakpoint
-- A delivery's webhook `data`: the backend's ids (public notification id, external user id), never
-- the phone, address or provider text (a provider's error message can quote the number).
CREATE FUNCTION lc_webhook_delivery_data(d deliveries) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (SELECT jsonb_strip_nulls(jsonb_build_object(
    'delivery_id', d.id::text,
    'notification_id', n.notification_id,
    'notification_type', n.type,
    'user_id', u.external_id,
    'channel', d.channel,
    'status', d.status,
    'attempts', d.attempts,
    'provider_message_id', d.provider_message_id,
    'skip_reason', d.skip_reason,
    'error_code', CASE WHEN d.status = 'failed' THEN d.error_code END,
    'at', coalesce(CASE d.status WHEN 'sent' THEN d.sent_at WHEN 'delivered' THEN d.delivered_at
                                 WHEN 'failed' THEN d.failed_at END, d.updated_at, now())))
  FROM notifications n JOIN users u ON u.id = n.user_id
  WHERE n.id = d.notification_id);
END $$;
--> statement-breakpoint
-- Row level, and only for the transitions that are events, when an endpoint wants them: the WHEN
-- clause decides without calling this function (the probe's plan is kept for the whole statement),
-- so claims, leases and retries (queued <-> sending), and every change while no endpoint is
-- registered, never get here.
CREATE FUNCTION lc_webhook_delivery_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM lc_webhook_emit('delivery.' || NEW.status, jsonb_build_array(lc_webhook_delivery_data(NEW)));
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "deliveries_webhook_update" AFTER UPDATE OF "status" ON "deliveries" FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status IN ('sent', 'delivered', 'failed', 'skipped')
        AND lc_webhook_wanted('delivery.' || NEW.status))
  EXECUTE FUNCTION lc_webhook_delivery_changed();--> statement-breakpoint
-- A delivery created already skipped (opted out, no phone, quiet hours' drop…) is an event too.
CREATE TRIGGER "deliveries_webhook_insert" AFTER INSERT ON "deliveries" FOR EACH ROW
  WHEN (NEW.status IN ('sent', 'delivered', 'failed', 'skipped') AND lc_webhook_wanted('delivery.' || NEW.status))
  EXECUTE FUNCTION lc_webhook_delivery_changed();--> statement-breakpoint
-- Statement level: a bulk create (migration 0016) inserts hundreds of notifications in one
-- statement, and this runs once for them all.
CREATE FUNCTION lc_webhook_notifications_created() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF lc_webhook_wanted('notification.created') THEN
    PERFORM lc_webhook_emit('notification.created', (
      SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
        'notification_id', n.notification_id,
        'user_id', u.external_id,
        'type', n.type,
        'category', n.category,
        'priority', n.priority,
        'send_at', n.send_at,
        'created_at', n.created_at)) ORDER BY n.id)
      FROM created n JOIN users u ON u.id = n.user_id));
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "notifications_webhook_insert" AFTER INSERT ON "notifications"
  REFERENCING NEW TABLE AS created FOR EACH STATEMENT
  EXECUTE FUNCTION lc_webhook_notifications_created();--> statement-breakpoint
CREATE FUNCTION lc_webhook_notification_read() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM lc_webhook_emit('inbox.read', (
      SELECT jsonb_build_array(jsonb_build_object(
        'notification_id', NEW.notification_id, 'user_id', u.external_id,
        'type', NEW.type, 'read_at', NEW.read_at))
      FROM users u WHERE u.id = NEW.user_id));
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "notifications_webhook_read" AFTER UPDATE OF "read_at" ON "notifications" FOR EACH ROW
  WHEN (OLD.read_at IS NULL AND NEW.read_at IS NOT NULL AND lc_webhook_wanted('inbox.read'))
  EXECUTE FUNCTION lc_webhook_notification_read();--> statement-breakpoint
-- Flag changes: one preferences.changed per user and statement (a PATCH of three flags is one
-- event), and sms.opted_out / sms.opted_in when SMS went from on in some category to off in all,
-- or back. SMS is off by default (preferences/preference-map.ts), so "on somewhere" is an enabled
-- row; the state before is the one after with the changed rows' from_enabled put back.
CREATE FUNCTION lc_webhook_preferences_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  flips jsonb;
BEGIN
  IF lc_webhook_wanted('preferences.changed') THEN
    PERFORM lc_webhook_emit('preferences.changed', (
      SELECT jsonb_agg(jsonb_build_object(
        'user_id', u.external_id, 'source', c.source, 'changes', c.changes) ORDER BY c.user_id)
      FROM (SELECT user_id, min(source) AS source, jsonb_agg(jsonb_build_object(
              'category', category, 'channel', channel, 'enabled', to_enabled, 'was', from_enabled)
              ORDER BY id) AS changes
            FROM changed GROUP BY user_id) c
      JOIN users u ON u.id = c.user_id));
  END IF;
  IF lc_webhook_wanted('sms.opted_out') OR lc_webhook_wanted('sms.opted_in') THEN
    SELECT jsonb_agg(jsonb_build_object('user_id', u.external_id, 'source', c.source, 'at', now(),
      'was_on', EXISTS (SELECT 1 FROM notification_preferences p
                        WHERE p.user_id = c.user_id AND p.channel = 'sms' AND p.enabled
                          AND p.category <> ALL (c.categories)) OR c.any_was_on,
      'now_on', EXISTS (SELECT 1 FROM notification_preferences p
                        WHERE p.user_id = c.user_id AND p.channel = 'sms' AND p.enabled)))
    INTO flips
    FROM (SELECT user_id, min(source) AS source, array_agg(category) AS categories,
                 bool_or(coalesce(from_enabled, false)) AS any_was_on
          FROM changed WHERE channel = 'sms' GROUP BY user_id) c
    JOIN users u ON u.id = c.user_id;
    PERFORM lc_webhook_emit('sms.opted_out', (
      SELECT jsonb_agg(f - 'was_on' - 'now_on') FROM jsonb_array_elements(flips) f
      WHERE (f ->> 'was_on')::boolean AND NOT (f ->> 'now_on')::boolean));
    PERFORM lc_webhook_emit('sms.opted_in', (
      SELECT jsonb_agg(f - 'was_on' - 'now_on') FROM jsonb_array_elements(flips) f
      WHERE (f ->> 'now_on')::boolean AND NOT (f ->> 'was_on')::boolean));
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "preference_changes_webhook_insert" AFTER INSERT ON "preference_changes"
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT
  EXECUTE FUNCTION lc_webhook_preferences_changed();--> statement-breakpoint
-- Quiet hours and time zone (notification_settings_changes) are preferences too.
CREATE FUNCTION lc_webhook_settings_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF lc_webhook_wanted('preferences.changed') THEN
    PERFORM lc_webhook_emit('preferences.changed', (
      SELECT jsonb_agg(jsonb_build_object(
        'user_id', u.external_id, 'source', c.source, 'settings', c.settings) ORDER BY c.user_id)
      FROM (SELECT user_id, min(source) AS source, jsonb_agg(jsonb_build_object(
              'field', field, 'value', to_value, 'was', from_value) ORDER BY id) AS settings
            FROM changed GROUP BY user_id) c
      JOIN users u ON u.id = c.user_id));
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "notification_settings_changes_webhook_insert" AFTER INSERT ON "notification_settings_changes"
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT
  EXECUTE FUNCTION lc_webhook_settings_changed();--> statement-breakpoint
-- A text to our number: the user (the backend's id, not the phone), the text, its keyword, and for a
-- YES to a message that asked for it the order it confirms.
CREATE FUNCTION lc_webhook_sms_reply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF lc_webhook_wanted('sms.reply') THEN
    PERFORM lc_webhook_emit('sms.reply', jsonb_build_array(jsonb_build_object(
      'user_id', (SELECT external_id FROM users WHERE id = NEW.user_id),
      'body', NEW.body,
      'keyword', NEW.keyword,
      'confirmed', NEW.confirmed,
      'order_number', NEW.order_number,
      'in_reply_to', (SELECT notification_id FROM notifications WHERE id = NEW.notification_id),
      'received_at', NEW.created_at)));
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "inbound_sms_webhook_insert" AFTER INSERT ON "inbound_sms" FOR EACH ROW
  EXECUTE FUNCTION lc_webhook_sms_reply();
