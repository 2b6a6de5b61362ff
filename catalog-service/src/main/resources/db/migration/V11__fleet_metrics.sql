-- The fleet gauges look up, per source, the newest verification and the newest passed one through this index alone
-- (index-only: the verdict is included) instead of reading the source's backups. It replaces the fleet view's
-- narrower index of the same name (V10), which it serves as well.
drop index if exists backup_source_verified_idx;
create index backup_source_verified_idx on backup (source_id, verified_at desc) include (verification)
    where verified_at is not null;
