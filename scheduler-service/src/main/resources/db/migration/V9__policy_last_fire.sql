-- The latest cron slot of each policy that was recorded as a backup request: after an outage of the service or its
-- database, the one slot missed since then is fired once (PolicyScheduler.catchUp), not every slot, and not none.
alter table policy add column last_fire_at timestamptz;
