-- Each delivery keeps its channel's part of the seed's notification.metadata ({"sms": {...}}), so
-- an outcome or a provider status report rewrites the delivery row it already rewrites, not the
-- notification's as well (the wide row, with its title, message and context: 4 rewrites per SMS
-- notification before this). A notification's metadata is its deliveries' parts merged on read.
ALTER TABLE "deliveries" ADD COLUMN "metadata" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
-- The parts are keyed by channel (sms, email, push), so each moves to its channel's delivery.
update deliveries d set metadata = jsonb_build_object(d.channel, n.metadata -> d.channel)
from notifications n where n.id = d.notification_id and n.metadata ? d.channel;--> statement-breakpoint
ALTER TABLE "notifications" DROP COLUMN "metadata";--> statement-breakpoint
-- The two functions of 0005 that wrote notifications.metadata, now writing the delivery's part.
create or replace function lc_complete_deliveries(p_owner text, p_batch jsonb, p_ranks jsonb)
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
        metadata = d.metadata || coalesce(v.metadata, '{}'::jsonb),
        sent_at = case when v.status in ('sent', 'delivered') then now() else d.sent_at end,
        delivered_at = case when v.status = 'delivered' then now() else d.delivered_at end,
        failed_at = case when v.status = 'failed' then now() else d.failed_at end,
        updated_at = now()
    from v
    where d.id = v.id and d.status = 'sending' and d.lease_owner = p_owner
    returning d.id
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
        metadata = jsonb_set(d.metadata, array[d.channel], coalesce(d.metadata -> d.channel, '{}'::jsonb)
          || jsonb_build_object('status', x.status, 'updated_at', to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
          || case when x.error_code is null then '{}'::jsonb else jsonb_build_object('error_code', x.error_code) end),
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
    order by x.ord
  )
  select x.ord, x.id, x.notification_id, x.user_id, (upd.id is not null), coalesce(upd.status, x.cur_status),
         x.attempts, x.max_attempts
  from cur x left join upd on upd.id = x.id;
  delete from early_provider_statuses where created_at < now() - interval '1 day';
end $$;
