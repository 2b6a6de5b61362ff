-- Where a completed chunked backup sits in its repository (from BackupCompleted.repository): retention reads what
-- a backup depends on from these instead of inferring it from completion order. Null for single-archive backups
-- and for rows completed before this migration; retention falls back to the inference for those.
alter table backup_request add column chain_id text;
alter table backup_request add column parent_backup_id text;
