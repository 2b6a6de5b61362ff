-- Backup outcomes (from lifeboat.backup.events.v1) and retention decisions on the request rows.
-- Rows recorded before this migration were requests whose outcome the scheduler never saw.
alter table backup_request add column status text not null default 'REQUESTED';
alter table backup_request add column completed_at timestamptz;
alter table backup_request add column size_bytes bigint;
alter table backup_request add column failure_reason text;
alter table backup_request add column expired_at timestamptz;

-- Retention reads the completed and expired backups of one source (all policies, for chain links) or policy.
create index backup_request_source_completed on backup_request (source_id, completed_at) where completed_at is not null;
create index backup_request_policy_completed on backup_request (policy_id, completed_at) where completed_at is not null;
