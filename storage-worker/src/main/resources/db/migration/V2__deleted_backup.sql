-- One row per sealed backup this worker deleted after retention expired it (BackupsExpired). The row is
-- written after the objects are gone (manifest first, then archive) and before BackupDeleted is sent: a
-- redelivered BackupsExpired finds it, deletes nothing again and re-emits the stored event with the same id.
CREATE TABLE deleted_backup (
    backup_id   uuid PRIMARY KEY REFERENCES sealed_backup (backup_id),
    -- the policy whose retention expired the backup
    policy_id   text        NOT NULL,
    event_id    uuid        NOT NULL,
    -- the BackupDeleted data as first emitted
    event_data  jsonb       NOT NULL,
    deleted_at  timestamptz NOT NULL
);
