-- A status report that beat the worker's write of the sid must not be lost. Before, a report
-- whose statement ran while the worker's lc_complete_deliveries was still uncommitted saw no
-- delivery with that sid and was parked, and the worker's look for parked reports ran before the
-- park committed: the report stayed parked for good (the delivery stuck at `sent`; CI saw it once
-- under load). Both functions now take a transaction-scoped advisory lock per provider message id,
-- in one order, before reading: whichever comes second waits for the first to commit and then sees
-- its write (READ COMMITTED takes a fresh snapshot per statement of a volatile function).
-- Also, for the second SMS provider (issue 17): a provider error code that is not a number
-- (Vonage's) is kept as text in `metadata` instead of failing the cast (Twilio's stay integers); a
-- parked report keeps its `client_ref` (Vonage echoes our delivery id), so a send that timed out
-- can be reconciled by the receipt that came for it; and the claim hands the channel the previous
-- attempt's route (`details.route`: which provider was asked, when), whom to reconcile with.
create function lc_lock_provider_message_ids(p_ids text[]) returns void
language plpgsql as $function$
declare
  k int;
begin
  -- Sorted, so two transactions locking overlapping sets cannot deadlock. The first key names
  -- this lock space (0x4C430001, "LC" and 1); a hash collision only makes two messages wait for each other.
  for k in select distinct hashtext(i) from unnest(p_ids) i where i is not null order by 1 loop
    perform pg_advisory_xact_lock(1279459329, k);
  end loop;
end $function$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION public.lc_apply_provider_statuses(p_updates jsonb, p_ranks jsonb, p_machine jsonb)
 RETURNS TABLE(ord integer, id bigint, notification_id bigint, user_id bigint, applied boolean, status text, attempts integer, max_attempts integer)
 LANGUAGE plpgsql
AS $function$
#variable_conflict use_column
begin
  perform lc_lock_provider_message_ids(array(select e ->> 'sid' from jsonb_array_elements(p_updates) e));
  return query
  with v as (
    select * from jsonb_to_recordset(p_updates) as v(
      ord int, sid text, status text, rank int, delivered boolean, failed boolean,
      retry_at timestamptz, error_code text, error_message text, price text, client_ref text)
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
          || case when x.error_code is null then '{}'::jsonb
                  when x.error_code ~ '^[0-9]{1,18}$' then jsonb_build_object('error_code', x.error_code::bigint)
                  else jsonb_build_object('error_code', x.error_code) end),
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
end $function$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION public.lc_complete_deliveries(p_owner text, p_batch jsonb, p_ranks jsonb, p_machine jsonb)
 RETURNS SETOF bigint
 LANGUAGE plpgsql
AS $function$
declare
  written bigint[];
  early jsonb;
begin
  if exists (select 1 from jsonb_array_elements(p_batch) e where not coalesce(p_machine ? (e ->> 'event'), false)) then
    raise exception 'lc_complete_deliveries: an outcome names no event of the state machine';
  end if;
  perform lc_lock_provider_message_ids(array(
    select e ->> 'provider_message_id' from jsonb_array_elements(p_batch) e));
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
end $function$;
--> statement-breakpoint
drop function lc_claim_deliveries(jsonb, text, int, timestamptz);
--> statement-breakpoint
create function lc_claim_deliveries(p_wants jsonb, p_owner text, p_lease_ms int, p_now timestamptz default null)
returns table (id bigint, attempts integer, max_attempts integer, channel text, created_ms double precision, outcome_unknown boolean, route jsonb, public_id text, type text, title text, message text, context jsonb, user_id bigint, external_id text, email text, phone text, first_name text, last_name text, locale text, time_zone text)
language plpgsql as $function$
#variable_conflict use_column
declare
  v_now timestamptz := coalesce(p_now, now());
begin
  return query
  with picked as (
    select p.id
    from jsonb_to_recordset(p_wants) as w(channel text, "limit" int)
    cross join lateral (
      select d.id from deliveries d
      where d.status = 'queued' and d.channel = w.channel and d.next_attempt_at <= v_now
      order by d.next_attempt_at
      limit w."limit"
      for update skip locked
    ) p
  ), claimed as (
    update deliveries d
    set status = 'sending', lease_owner = p_owner,
        lease_expires_at = v_now + p_lease_ms * interval '1 millisecond',
        attempts = d.attempts + 1, updated_at = now()
    from picked where d.id = picked.id
    returning d.id, d.notification_id, d.channel, d.attempts, d.max_attempts,
              (extract(epoch from d.created_at) * 1000)::float8 as created_ms,
              (d.details->>'outcome_unknown')::boolean as outcome_unknown,
              d.details->'route' as route
  ), history as (
    insert into delivery_status_history (delivery_id, from_status, to_status, detail)
    select c.id, 'queued', 'sending', 'attempt ' || c.attempts from claimed c
  )
  select c.id, c.attempts, c.max_attempts, c.channel, c.created_ms, c.outcome_unknown, c.route,
         n.notification_id, n.type, n.title, n.message, n.context,
         u.id, u.external_id, u.email, u.phone, u.first_name, u.last_name, u.locale, u.time_zone
  from claimed c
  join notifications n on n.id = c.notification_id
  join users u on u.id = n.user_id;
end $function$;
