-- The claim hands each job its escalation wait (details.escalation, written at creation for a
-- channel held back until the in-app message is read, issue 18), so the worker checks the read
-- only for the jobs that wait for one, with no extra query for the others. Otherwise 0018's
-- function, unchanged. Dropped first: a changed result type cannot be replaced in place.
drop function lc_claim_deliveries(jsonb, text, int, timestamptz);
--> statement-breakpoint
create function lc_claim_deliveries(p_wants jsonb, p_owner text, p_lease_ms int, p_now timestamptz default null)
returns table (id bigint, attempts integer, max_attempts integer, channel text, created_ms double precision, outcome_unknown boolean, route jsonb, escalation jsonb, public_id text, type text, title text, message text, context jsonb, user_id bigint, external_id text, email text, phone text, first_name text, last_name text, locale text, time_zone text)
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
end $function$;
