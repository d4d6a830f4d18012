-- The delivery state machine (src/deliveries/state-machine.ts) guards every status these functions
-- write: each takes the transition table as p_machine, reads an event's to-state from it and
-- changes a row only when its current status is one of the event's from-states. Completions and
-- new deliveries name their event (TypeScript decides it); a provider report's event is derived
-- here from the report, as before. The old signatures are dropped so nothing can call around the
-- guard. Otherwise the bodies of 0009 (provider statuses), 0007 (complete) and 0005 (insert).
drop function lc_complete_deliveries(text, jsonb, jsonb);
--> statement-breakpoint
drop function lc_apply_provider_statuses(jsonb, jsonb);
--> statement-breakpoint
drop function lc_insert_notification(text, bigint, text, text, text, text, text, jsonb, jsonb, text, text, text, text, text);
--> statement-breakpoint
create function lc_apply_provider_statuses(p_updates jsonb, p_ranks jsonb, p_machine jsonb)
returns TABLE(ord integer, id bigint, notification_id bigint, user_id bigint, applied boolean, status text, attempts integer, max_attempts integer)
language plpgsql as $$
#variable_conflict use_column
begin
  return query
  with v as (
    select * from jsonb_to_recordset(p_updates) as v(
      ord int, sid text, status text, rank int, delivered boolean, failed boolean,
      retry_at timestamptz, error_code text, error_message text, price text)
  ), cur as (
    -- No row locks: the update below re-checks its conditions on the row as it is when it gets
    -- there (READ COMMITTED re-evaluates a changed row), so two reports for one message racing on
    -- two API nodes still apply in rank order, and a lock would cost one more write per report.
    -- The event (deliveries/state-machine.ts): its to-state and allowed from-states are p_machine's.
    select v.*, d.id, d.status as cur_status, d.provider_status as cur_provider_status,
           d.notification_id, d.attempts, d.max_attempts, n.user_id,
           case when v.delivered then 'provider_delivered'
                when v.failed and v.retry_at is not null and d.attempts < d.max_attempts then 'provider_retry'
                when v.failed then 'provider_failed' else 'provider_progress' end as event
    from v
    -- "is not null" lets the planner use the partial index on the sid (migration 0006).
    join deliveries d on d.provider_message_id = v.sid and d.provider_message_id is not null
    join notifications n on n.id = d.notification_id
  ), upd as (
    update deliveries d
    set provider_status = x.status,
        status = p_machine -> x.event ->> 'to',
        next_attempt_at = case when x.event = 'provider_retry' then x.retry_at else d.next_attempt_at end,
        error_code = coalesce(x.error_code, d.error_code),
        error_message = case when x.error_code is null then d.error_message else x.error_message end,
        delivered_at = case when x.delivered then now() else d.delivered_at end,
        failed_at = case when x.event = 'provider_failed' then now() else d.failed_at end,
        details = case when x.price is null then d.details
                       else coalesce(d.details, '{}'::jsonb) || jsonb_build_object('price', x.price) end,
        metadata = jsonb_set(d.metadata, array[d.channel], coalesce(d.metadata -> d.channel, '{}'::jsonb)
          || jsonb_build_object('status', x.status, 'updated_at', to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
          || case when x.error_code is null then '{}'::jsonb else jsonb_build_object('error_code', x.error_code::bigint) end),
        updated_at = now()
    from cur x
    where d.id = x.id and (p_machine -> x.event -> 'from') ? d.status
      and x.rank > coalesce((p_ranks ->> d.provider_status)::int, -1)
    returning d.id, d.status
  ), parked as (
    insert into early_provider_statuses (provider_message_id, report)
    select v.sid, to_jsonb(v) from v where not exists (select 1 from cur where cur.sid = v.sid)
  ), hist as (
    insert into delivery_status_history (delivery_id, from_status, to_status, provider_status, error_code, detail)
    select x.id, x.cur_status, coalesce(upd.status, x.cur_status), x.status, x.error_code,
           case when upd.id is null then 'status callback ignored: not newer than ' || coalesce(x.cur_provider_status, x.cur_status)
                else 'status callback' end
    from cur x left join upd on upd.id = x.id
    where upd.id is not null or not exists (
      select 1 from delivery_status_history h
      where h.delivery_id = x.id and h.provider_status = x.status
        and h.error_code is not distinct from x.error_code)
    order by x.ord
  )
  select x.ord, x.id, x.notification_id, x.user_id, (upd.id is not null), coalesce(upd.status, x.cur_status),
         x.attempts, x.max_attempts
  from cur x left join upd on upd.id = x.id;
  delete from early_provider_statuses where created_at < now() - interval '1 day';
end $$;
--> statement-breakpoint
create function lc_complete_deliveries(p_owner text, p_batch jsonb, p_ranks jsonb, p_machine jsonb)
returns SETOF bigint
language plpgsql as $$
declare
  written bigint[];
  early jsonb;
begin
  if exists (select 1 from jsonb_array_elements(p_batch) e where not coalesce(p_machine ? (e ->> 'event'), false)) then
    raise exception 'lc_complete_deliveries: an outcome names no event of the state machine';
  end if;
  with v as (
    -- Each outcome names its event (deliveries/state-machine.ts); p_machine gives its status and
    -- the states it may leave, so a row in any other state is left alone.
    select r.*, p_machine -> r.event ->> 'to' as status, p_machine -> r.event -> 'from' as from_states
    from jsonb_to_recordset(p_batch) as r(
      id bigint, event text, next_attempt_at timestamptz, provider_message_id text, provider_status text,
      error_code text, error_message text, skip_reason text, cost_amount numeric, cost_currency text,
      details jsonb, metadata jsonb, detail text)
  ), cur as (
    select v.id, d.status as cur_status from v join deliveries d on d.id = v.id
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
        metadata = d.metadata || coalesce(v.metadata, '{}'::jsonb),
        sent_at = case when v.status in ('sent', 'delivered') then now() else d.sent_at end,
        delivered_at = case when v.status = 'delivered' then now() else d.delivered_at end,
        failed_at = case when v.status = 'failed' then now() else d.failed_at end,
        updated_at = now()
    from v
    where d.id = v.id and v.from_states ? d.status and d.lease_owner = p_owner
    returning d.id
  ), hist as (
    insert into delivery_status_history (delivery_id, from_status, to_status, provider_status, error_code, detail)
    select v.id, cur.cur_status, v.status, v.provider_status, v.error_code, coalesce(v.detail, v.error_message)
    from upd join v on v.id = upd.id join cur on cur.id = upd.id
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
    perform * from lc_apply_provider_statuses(early, p_ranks, p_machine);
  end if;
  return query select unnest(written);
end $$;
--> statement-breakpoint
create function lc_insert_notification(p_notification_id text, p_user_id bigint, p_type text, p_category text, p_priority text, p_title text, p_message text, p_context jsonb, p_deliveries jsonb, p_idempotency_scope text, p_idempotency_key text, p_request_hash text, p_notify_channel text, p_queued text, p_machine jsonb)
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
  if exists (select 1 from jsonb_array_elements(p_deliveries) e
             where not coalesce((p_machine -> (e ->> 'event') -> 'from') @> '[null]', false)) then
    raise exception 'lc_insert_notification: a delivery names no creation event of the state machine';
  end if;
  with n as (
    insert into notifications (notification_id, user_id, type, category, priority, title, message, context)
    values (p_notification_id, p_user_id, p_type, p_category, p_priority, p_title, p_message, p_context)
    returning *
  ), d as (
    insert into deliveries (notification_id, channel, status, max_attempts, next_attempt_at, skip_reason, error_message)
    select n.id, v.channel, p_machine -> v.event ->> 'to', v.max_attempts, v.next_attempt_at, v.skip_reason,
           v.error_message
    from n, jsonb_to_recordset(p_deliveries) as v(
      ord int, channel text, event text, max_attempts int, next_attempt_at timestamptz,
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
