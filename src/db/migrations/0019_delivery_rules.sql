ALTER TABLE "notifications" ADD COLUMN "send_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "cancel_key" text;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "collapse_key" text;--> statement-breakpoint
CREATE INDEX "notifications_cancel_key_idx" ON "notifications" USING btree ("cancel_key") WHERE "notifications"."cancel_key" is not null;--> statement-breakpoint
CREATE INDEX "notifications_collapse_idx" ON "notifications" USING btree ("user_id","type","collapse_key") WHERE "notifications"."collapse_key" is not null;
--> statement-breakpoint
-- Delivery rules per notification type (issue 18): a notification keeps when it was asked to go out
-- (send_at) and its cancel and collapse keys; a delivery may start with rule details (e.g. the
-- escalation it waits for) and a first history line saying so. Same signature: callers unchanged.
create or replace function lc_insert_notifications(
  p_items jsonb, p_notify_channel text, p_queued text, p_machine jsonb, p_rows boolean)
returns json
language plpgsql as $$
declare
  stored int[];
  result json;
begin
  if exists (select 1 from jsonb_array_elements(p_items) i cross join jsonb_array_elements(i -> 'deliveries') e
             where not coalesce((p_machine -> (e ->> 'event') -> 'from') @> '[null]', false)) then
    raise exception 'lc_insert_notifications: a delivery names no creation event of the state machine';
  end if;
  with v as (
    select * from jsonb_to_recordset(p_items) as v(
      ord int, notification_id text, scope text, key text, request_hash text)
  ), claimed as (
    insert into idempotency_keys (scope, key, request_hash, response)
    select v.scope, v.key, v.request_hash, jsonb_build_object('notification_id', v.notification_id)
    from v where v.key is not null
    order by v.scope, v.key
    on conflict do nothing
    returning scope, key
  )
  select coalesce(array_agg(v.ord), '{}') into stored
  from v left join claimed c on c.scope = v.scope and c.key = v.key
  where v.key is null or c.key is not null;

  with v as (
    select v.* from jsonb_to_recordset(p_items) as v(
      ord int, notification_id text, user_id bigint, type text, category text, priority text,
      title text, message text, context jsonb, send_at timestamptz, cancel_key text, collapse_key text,
      deliveries jsonb)
    join unnest(stored) as s(ord) on s.ord = v.ord
  ), n as (
    insert into notifications (notification_id, user_id, type, category, priority, title, message, context,
      send_at, cancel_key, collapse_key)
    select v.notification_id, v.user_id, v.type, v.category, v.priority, v.title, v.message, v.context,
      v.send_at, v.cancel_key, v.collapse_key
    from v order by v.ord
    returning *
  ), d as (
    insert into deliveries (notification_id, channel, status, max_attempts, next_attempt_at, skip_reason, error_message,
      details)
    select n.id, e.channel, p_machine -> e.event ->> 'to', e.max_attempts, e.next_attempt_at, e.skip_reason,
           e.error_message, e.details
    from n join v on v.notification_id = n.notification_id
    cross join lateral jsonb_to_recordset(v.deliveries) as e(
      ord int, channel text, event text, max_attempts int, next_attempt_at timestamptz,
      skip_reason text, error_message text, details jsonb)
    order by n.id, e.ord
    returning *
  ), h as (
    -- The first history row says why the delivery starts as it does: a rule's wait (its `detail`,
    -- e.g. "waiting for read until …"), else the skip's message.
    insert into delivery_status_history (delivery_id, from_status, to_status, detail)
    select d.id, null, d.status, coalesce(x.detail, d.error_message)
    from d left join (
      select n.id as notification_id, e.channel, e.detail
      from n join v on v.notification_id = n.notification_id
      cross join lateral jsonb_to_recordset(v.deliveries) as e(channel text, detail text)
    ) x on x.notification_id = d.notification_id and x.channel = d.channel
    order by d.id
    returning *
  )
  select json_build_object(
    'created', case when p_rows then (
      select coalesce(json_agg(json_build_object(
        'ord', v.ord,
        'notification', row_to_json(n),
        'deliveries', (select coalesce(json_agg(d order by d.id), '[]') from d where d.notification_id = n.id),
        'history', (select coalesce(json_agg(h order by h.id), '[]') from h join d on d.id = h.delivery_id
                    where d.notification_id = n.id))), '[]')
      from n join v on v.notification_id = n.notification_id) end,
    'existing', (
      select coalesce(json_agg(json_build_object('ord', x.ord, 'request_hash', k.request_hash, 'response', k.response)), '[]')
      from jsonb_to_recordset(p_items) as x(ord int, scope text, key text)
      join idempotency_keys k on k.scope = x.scope and k.key = x.key
      where not exists (select 1 from unnest(stored) as s(ord) where s.ord = x.ord)))
  into result;
  if p_queued <> '' and cardinality(stored) > 0 then
    perform pg_notify(p_notify_channel, p_queued);
  end if;
  return result;
end $$;
