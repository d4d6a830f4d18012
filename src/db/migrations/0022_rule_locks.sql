-- Collapse and throttle (issue 18): a notification of a type with either rule is stored under a
-- transaction-scoped advisory lock per (user, type) (notifications/store-with-rules.ts), so two
-- creates of one user's type at once run one after the other and the second sees the first. The
-- sorted lock loop of migration 0018 becomes one function for any lock space (the first key of
-- the two-key form); the provider message ids keep theirs, 0x4C430001.
create function lc_lock_keys(p_space int, p_keys text[]) returns void
language plpgsql as $function$
declare
  k int;
begin
  -- Sorted, so two transactions locking overlapping sets cannot deadlock; a hash collision only
  -- makes two keys wait for each other.
  for k in select distinct hashtext(i) from unnest(p_keys) i where i is not null order by 1 loop
    perform pg_advisory_xact_lock(p_space, k);
  end loop;
end $function$;
--> statement-breakpoint
create or replace function lc_lock_provider_message_ids(p_ids text[]) returns void
language plpgsql as $function$
begin
  perform lc_lock_keys(1279459329, p_ids);
end $function$;
