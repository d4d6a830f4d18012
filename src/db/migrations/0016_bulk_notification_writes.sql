-- Notifications are read for and stored in sets (issue 16's bulk path): a batch of 1,000 costs a
-- constant number of round trips, not a few per item, and the single create is a set of one, so
-- both go through the same two functions. They replace lc_insert_notification and
-- lc_load_recipient (dropped: nothing may call around the set forms).
drop function lc_insert_notification(text, bigint, text, text, text, text, text, jsonb, jsonb, text, text, text, text, text, jsonb);
--> statement-breakpoint
drop function lc_load_recipient(text);
--> statement-breakpoint
-- Store notifications (p_items: [{ord, notification_id, user_id, type, category, priority, title,
-- message, context, scope, key, request_hash, deliveries: [{ord, channel, event, ...}]}]; key null:
-- none, keys distinct within one call), each with its deliveries and their first history rows, and
-- NOTIFY p_notify_channel once with the queued channels, p_queued. An item whose key another
-- request holds is not stored: it comes back under "existing" with the holder's request_hash and
-- response. The keys are claimed first, in (scope, key) order, in a statement of their own: two
-- calls sharing keys wait for each other in the same order (no deadlock), and the next statement's
-- snapshot sees a holder that committed while this one waited. p_rows: also return the rows written
-- ("created": [{ord, notification, deliveries, history}]) for the single create's answer; a batch
-- answers from its decisions and leaves the JSON of nine rows a notification unbuilt.
create function lc_insert_notifications(
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
      title text, message text, context jsonb, deliveries jsonb)
    join unnest(stored) as s(ord) on s.ord = v.ord
  ), n as (
    insert into notifications (notification_id, user_id, type, category, priority, title, message, context)
    select v.notification_id, v.user_id, v.type, v.category, v.priority, v.title, v.message, v.context
    from v order by v.ord
    returning *
  ), d as (
    insert into deliveries (notification_id, channel, status, max_attempts, next_attempt_at, skip_reason, error_message)
    select n.id, e.channel, p_machine -> e.event ->> 'to', e.max_attempts, e.next_attempt_at, e.skip_reason,
           e.error_message
    from n join v on v.notification_id = n.notification_id
    cross join lateral jsonb_to_recordset(v.deliveries) as e(
      ord int, channel text, event text, max_attempts int, next_attempt_at timestamptz,
      skip_reason text, error_message text)
    order by n.id, e.ord
    returning *
  ), h as (
    insert into delivery_status_history (delivery_id, from_status, to_status, detail)
    select d.id, null, d.status, d.error_message from d order by d.id
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
--> statement-breakpoint
-- Recipients by external id (p_external_ids: a JSON array of them): each user, their explicit
-- channel choices ([category, channel, enabled]), their own quiet-hours row (null: none) and
-- whether a browser is subscribed to Web Push. Unknown ids have no row.
create function lc_load_recipients(p_external_ids jsonb)
returns table (
  id bigint, external_id text, email text, phone text, first_name text, last_name text,
  locale text, time_zone text, prefs jsonb, quiet jsonb, has_push boolean)
language plpgsql as $$
#variable_conflict use_column
begin
  return query
  select u.id, u.external_id, u.email, u.phone, u.first_name, u.last_name, u.locale, u.time_zone,
    coalesce((select jsonb_agg(jsonb_build_array(p.category, p.channel, p.enabled))
              from notification_preferences p where p.user_id = u.id), '[]'::jsonb),
    (select jsonb_build_object('quietHoursStart', s.quiet_hours_start, 'quietHoursEnd', s.quiet_hours_end)
     from notification_settings s where s.user_id = u.id),
    exists (select 1 from push_subscriptions ps where ps.user_id = u.id)
  from users u where u.external_id in (select jsonb_array_elements_text(p_external_ids));
end $$;
