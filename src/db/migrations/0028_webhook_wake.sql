-- Outbound webhooks go out at once: an emit that wrote outbox rows NOTIFYs the webhook senders on
-- `lc_webhooks` (delivered at commit, only if the change committed; PostgreSQL folds a
-- transaction's identical notifications into one), so "immediately" in the retry schedule is not
-- "at the next poll". The poll (WEBHOOK_POLL_MS) stays for retries falling due and a missed wake-up.
CREATE OR REPLACE FUNCTION lc_webhook_emit(p_type text, p_payloads jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  written int;
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
  GET DIAGNOSTICS written = ROW_COUNT;
  IF written > 0 THEN
    PERFORM pg_notify('lc_webhooks', '');
  END IF;
END $$;
