-- A provider's failure report now writes its text to the delivery's error_message (it was left
-- null, so a final 30003/30005 said only its code) and keeps Twilio's error code an integer in
-- metadata.sms.error_code, as Twilio's API types it and as a refused request already stored it
-- (callbacks stored it as a string). Otherwise the body of 0008's function, unchanged.
create or replace function lc_apply_provider_statuses(p_updates jsonb, p_ranks jsonb)
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
      retry_at timestamptz, error_code text, error_message text, price text)
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
        error_message = case when x.error_code is null then d.error_message else x.error_message end,
        delivered_at = case when x.delivered then now() else d.delivered_at end,
        failed_at = case when x.failed and not (x.retry_at is not null and d.attempts < d.max_attempts)
                         then now() else d.failed_at end,
        details = case when x.price is null then d.details
                       else coalesce(d.details, '{}'::jsonb) || jsonb_build_object('price', x.price) end,
        metadata = jsonb_set(d.metadata, array[d.channel], coalesce(d.metadata -> d.channel, '{}'::jsonb)
          || jsonb_build_object('status', x.status, 'updated_at', to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
          || case when x.error_code is null then '{}'::jsonb else jsonb_build_object('error_code', x.error_code::bigint) end),
        updated_at = now()
    from cur x
    where d.id = x.id and d.status = 'sent'
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
