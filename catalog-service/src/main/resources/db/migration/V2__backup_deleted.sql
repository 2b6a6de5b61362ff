-- Retention: BackupsExpired (one decision about several backups) and BackupDeleted (storage-worker removed a
-- backup's objects). DELETED is a final status that replaces any other and is never replaced.

alter table backup drop constraint backup_status_check;
alter table backup add constraint backup_status_check
    check (status in ('REQUESTED', 'RUNNING', 'SNAPSHOT_CREATED', 'COMPLETED', 'FAILED', 'DELETED'));
-- when retention expired the backup, and when its objects were deleted
alter table backup add column expired_at timestamptz;
alter table backup add column deleted_at timestamptz;

-- A BackupsExpired is recorded once in the history of every backup it names: one event id, several rows.
-- The idempotency guard becomes (event id, backup id); every other event still has exactly one row.
alter table backup_event drop constraint backup_event_pkey;
alter table backup_event add primary key (event_id, backup_id);
