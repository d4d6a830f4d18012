-- The statements of the hot path as PL/pgSQL functions (as graphile-worker keeps its queue
-- operations): PostgreSQL caches a function's plans per connection, while a statement sent as text
-- is parsed and planned on every call. For these multi-CTE statements planning was most of the cost:
-- measured on PGlite, a claim took 0.60 ms as text and 0.08 ms as a function call.
-- A provider status report can beat the worker's write of the message's sid (a fast callback, a
-- batched outcome write): lc_apply_provider_statuses parks it in early_provider_statuses and
-- lc_complete_deliveries applies it when it writes the sid.
-- The TypeScript wrappers (deliveries/queue.ts, deliveries/provider-status.ts,
-- notifications/insert-notification.ts, notifications/recipient.ts) document each one; change a
-- function with a new migration (create or replace).

-- Rows the hot path rewrites in place keep room on their page, so an update that changes no
-- indexed column (a notification's metadata, a delivery's provider status) can be a HOT update:
-- no new index entries. The default (100) leaves none.
alter table notifications set (fillfactor = 70);
--> statement-breakpoint
alter table deliveries set (fillfactor = 70);
--> statement-breakpoint
-- The queue table is rewritten several times per row: left to the default (a vacuum once a fifth
-- of it is dead), the claim's index scan wades through the entries of every row claimed since the
-- last one. PostgreSQL's autovacuum only (PGlite has none; see db/embedded-vacuum.ts).
alter table deliveries set (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000,
  autovacuum_analyze_scale_factor = 0.02);
--> statement-breakpoint
alter table notifications set (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000);
--> statement-breakpoint

-- Claim due deliveries of several channels (p_wants: [{"channel","limit"}]): queued -> sending, leased.
create function lc_claim_deliveries(p_wants jsonb, p_owner text, p_lease_ms int)
returns table (
  id bigint, attempts int, channel text, created_ms float8, outcome_unknown boolean,
  public_id text, type text, title text, message text, context jsonb,
  user_id bigint, external_id text, email text, phone text, first_name text, last_name text,
  locale text, time_zone text)
language plpgsql as $$
#variable_conflict use_column
begin
  return query
  with picked as (
    select p.id
    from jsonb_to_recordset(p_wants) as w(channel text, "limit" int)
    cross join lateral (
      select d.id from deliveries d
      where d.status = 'queued' and d.channel = w.channel and d.next_attempt_at <= now()
      order by d.next_attempt_at
      limit w."limit"
      for update skip locked
    ) p
  ), claimed as (
    update deliveries d
    set status = 'sending', lease_owner = p_owner,
        lease_expires_at = now() + p_lease_ms * interval '1 millisecond',
        attempts = d.attempts + 1, updated_at = now()
    from picked where d.id = picked.id
    returning d.id, d.notification_id, d.channel, d.attempts,
              (extract(epoch from d.created_at) * 1000)::float8 as created_ms,
              (d.details->>'outcome_unknown')::boolean as outcome_unknown
  ), history as (
    insert into delivery_status_history (delivery_id, from_status, to_status, detail)
    select c.id, 'queued', 'sending', 'attempt ' || c.attempts from claimed c
  )
  select c.id, c.attempts, c.channel, c.created_ms, c.outcome_unknown,
         n.notification_id, n.type, n.title, n.message, n.context,
         u.id, u.external_id, u.email, u.phone, u.first_name, u.last_name, u.locale, u.time_zone
  from claimed c
  join notifications n on n.id = c.notification_id
  join users u on u.id = n.user_id;
end $$;
--> statement-breakpoint

-- Write a batch of attempt outcomes; only rows still leased by p_owner change. Returns the ids
-- written. Reports parked for a sid it writes are applied then (the furthest one per message).
create function lc_complete_deliveries(p_owner text, p_batch jsonb, p_ranks jsonb)
returns setof bigint
language plpgsql as $$
declare
  written bigint[];
  early jsonb;
begin
  with v as (
    select * from jsonb_to_recordset(p_batch) as v(
      id bigint, status text, next_attempt_at timestamptz, provider_message_id text, provider_status text,
      error_code text, error_message text, skip_reason text, cost_amount numeric, cost_currency text,
      details jsonb, metadata jsonb, detail text)
  ), upd as (
    update deliveries d
    set status = v.status, next_attempt_at = v.next_attempt_at, lease_owner = null, lease_expires_at = null,
        provider_message_id = coalesce(v.provider_message_id, d.provider_message_id),
        provider_status = coalesce(v.provider_status, d.provider_status),
        error_code = v.error_code, error_message = v.error_message,
        skip_reason = coalesce(v.skip_reason, d.skip_reason),
        cost_amount = coalesce(v.cost_amount, d.cost_amount),
        cost_currency = coalesce(v.cost_currency, d.cost_currency),
        details = case when v.details is null then d.details else coalesce(d.details, '{}'::jsonb) || v.details end,
        sent_at = case when v.status in ('sent', 'delivered') then now() else d.sent_at end,
        delivered_at = case when v.status = 'delivered' then now() else d.delivered_at end,
        failed_at = case when v.status = 'failed' then now() else d.failed_at end,
        updated_at = now()
    from v
    where d.id = v.id and d.status = 'sending' and d.lease_owner = p_owner
    returning d.id, d.notification_id
  ), meta as (
    select upd.notification_id, jsonb_object_agg(e.key, e.value) as m
    from upd join v on v.id = upd.id cross join lateral jsonb_each(v.metadata) e
    group by upd.notification_id
  ), meta_upd as (
    update notifications n set metadata = n.metadata || meta.m from meta where n.id = meta.notification_id
  ), hist as (
    insert into delivery_status_history (delivery_id, from_status, to_status, provider_status, error_code, detail)
    select v.id, 'sending', v.status, v.provider_status, v.error_code, coalesce(v.detail, v.error_message)
    from upd join v on v.id = upd.id
    returning delivery_id
  )
  select coalesce(array_agg(delivery_id), '{}') into written from hist;

  with taken as (
    delete from early_provider_statuses e using deliveries d
    where d.id = any(written) and e.provider_message_id = d.provider_message_id
    returning e.id, e.provider_message_id, e.report
  )
  select jsonb_agg(r.report) into early from (
    select distinct on (t.provider_message_id) t.report from taken t
    order by t.provider_message_id, (t.report->>'rank')::int desc, t.id desc
  ) r;
  if early is not null then
    perform * from lc_apply_provider_statuses(early, p_ranks);
  end if;
  return query select unnest(written);
end $$;
--> statement-breakpoint

-- Claim the idempotency key (p_idempotency_key null: none), then store a notification, its
-- deliveries (p_deliveries: [{ord, channel, status, ...}]) and their first history rows, record the
-- response under the key and NOTIFY p_notify_channel with the queued channels, p_queued. Returns {notification, deliveries,
-- history} as JSON rows; or {existing: {request_hash, response}} when another request holds the key
-- (a concurrent holder's uncommitted key makes this wait until it commits), writing nothing.
create function lc_insert_notification(
  p_notification_id text, p_user_id bigint, p_type text, p_category text, p_priority text,
  p_title text, p_message text, p_context jsonb, p_deliveries jsonb,
  p_idempotency_scope text, p_idempotency_key text, p_request_hash text,
  p_notify_channel text, p_queued text)
returns json
language plpgsql as $$
declare
  result json;
begin
  if p_idempotency_key is not null then
    insert into idempotency_keys (scope, key, request_hash)
    values (p_idempotency_scope, p_idempotency_key, p_request_hash)
    on conflict do nothing;
    if not found then
      select json_build_object('existing', json_build_object('request_hash', k.request_hash, 'response', k.response))
      into result
      from idempotency_keys k where k.scope = p_idempotency_scope and k.key = p_idempotency_key;
      return result;
    end if;
  end if;
  with n as (
    insert into notifications (notification_id, user_id, type, category, priority, title, message, context)
    values (p_notification_id, p_user_id, p_type, p_category, p_priority, p_title, p_message, p_context)
    returning *
  ), d as (
    insert into deliveries (notification_id, channel, status, max_attempts, next_attempt_at, skip_reason, error_message)
    select n.id, v.channel, v.status, v.max_attempts, v.next_attempt_at, v.skip_reason, v.error_message
    from n, jsonb_to_recordset(p_deliveries) as v(
      ord int, channel text, status text, max_attempts int, next_attempt_at timestamptz,
      skip_reason text, error_message text)
    order by v.ord
    returning *
  ), h as (
    insert into delivery_status_history (delivery_id, from_status, to_status, detail)
    select d.id, null, d.status, d.error_message from d order by d.id
    returning *
  )
  select json_build_object(
    'notification', (select row_to_json(n) from n),
    'deliveries', (select coalesce(json_agg(d order by d.id), '[]') from d),
    'history', (select coalesce(json_agg(h order by h.id), '[]') from h))
  into result;
  if p_idempotency_key is not null then
    update idempotency_keys set response = jsonb_build_object('notification_id', p_notification_id)
    where scope = p_idempotency_scope and key = p_idempotency_key;
  end if;
  if p_queued <> '' then
    perform pg_notify(p_notify_channel, p_queued);
  end if;
  return result;
end $$;
--> statement-breakpoint

-- A recipient: the user, their explicit channel choices ([category, channel, enabled]), their own
-- quiet-hours row (null: none) and whether a browser is subscribed to Web Push.
create function lc_load_recipient(p_external_id text)
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
  from users u where u.external_id = p_external_id;
end $$;
--> statement-breakpoint

-- Apply a batch of provider status reports (p_updates: [{ord, sid, status, rank, ...}]); p_ranks maps
-- each provider status to its rank, so a report never moves a delivery backwards. One row per
-- report that matched a delivery; the others are parked (see the top of this file) and parked
-- reports older than a day, whose sid never came, are dropped.
create function lc_apply_provider_statuses(p_updates jsonb, p_ranks jsonb)
returns table (
  ord int, id bigint, notification_id bigint, user_id bigint, applied boolean, status text,
  attempts int, max_attempts int)
language plpgsql as $$
#variable_conflict use_column
begin
  return query
  with v as (
    select * from jsonb_to_recordset(p_updates) as v(
      ord int, sid text, status text, rank int, delivered boolean, failed boolean,
      retry_at timestamptz, error_code text, price text)
  ), cur as (
    -- No row locks: the update below re-checks its conditions on the row as it is when it gets
    -- there (READ COMMITTED re-evaluates a changed row), so two reports for one message racing on
    -- two API nodes still apply in rank order, and a lock would cost one more write per report.
    select v.*, d.id, d.status as cur_status, d.provider_status as cur_provider_status,
           d.notification_id, d.attempts, d.max_attempts, n.user_id
    from v
    -- "is not null" lets the planner use the partial index on the sid (migration 0006).
    join deliveries d on d.provider_message_id = v.sid and d.provider_message_id is not null
    join notifications n on n.id = d.notification_id
  ), upd as (
    update deliveries d
    set provider_status = x.status,
        status = case when x.delivered then 'delivered'
                      when x.failed and x.retry_at is not null and d.attempts < d.max_attempts then 'queued'
                      when x.failed then 'failed' else d.status end,
        next_attempt_at = case when x.failed and x.retry_at is not null and d.attempts < d.max_attempts
                               then x.retry_at else d.next_attempt_at end,
        error_code = coalesce(x.error_code, d.error_code),
        delivered_at = case when x.delivered then now() else d.delivered_at end,
        failed_at = case when x.failed and not (x.retry_at is not null and d.attempts < d.max_attempts)
                         then now() else d.failed_at end,
        details = case when x.price is null then d.details
                       else coalesce(d.details, '{}'::jsonb) || jsonb_build_object('price', x.price) end,
        updated_at = now()
    from cur x
    where d.id = x.id and d.status = 'sent'
      and x.rank > coalesce((p_ranks ->> d.provider_status)::int, -1)
    returning d.id, d.status
  ), meta as (
    update notifications n
    set metadata = jsonb_set(n.metadata, '{sms}', coalesce(n.metadata->'sms', '{}'::jsonb)
          || jsonb_build_object('status', x.status, 'updated_at', to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
          || case when x.error_code is null then '{}'::jsonb else jsonb_build_object('error_code', x.error_code) end)
    from upd join cur x on x.id = upd.id
    where n.id = x.notification_id
  ), parked as (
    insert into early_provider_statuses (provider_message_id, report)
    select v.sid, to_jsonb(v) from v where not exists (select 1 from cur where cur.sid = v.sid)
  ), hist as (
    insert into delivery_status_history (delivery_id, from_status, to_status, provider_status, error_code, detail)
    select x.id, x.cur_status, coalesce(upd.status, x.cur_status), x.status, x.error_code,
           case when upd.id is null then 'status callback ignored: not newer than ' || coalesce(x.cur_provider_status, x.cur_status)
                else 'status callback' end
    from cur x left join upd on upd.id = x.id
    order by x.ord
  )
  select x.ord, x.id, x.notification_id, x.user_id, (upd.id is not null), coalesce(upd.status, x.cur_status),
         x.attempts, x.max_attempts
  from cur x left join upd on upd.id = x.id;
  delete from early_provider_statuses where created_at < now() - interval '1 day';
end $$;
