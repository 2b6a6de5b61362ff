-- The fleet gauges look up, per source, the newest verification (and the newest successful one) through this index
-- instead of scanning the source's backups.
create index backup_source_verified_idx on backup (source_id, verified_at desc) where verified_at is not null;
