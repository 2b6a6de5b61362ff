-- One row per sealed backup this worker copied to its policy's offsite destination (COPIED, verified there) or
-- could not copy for a reason that retrying cannot fix (FAILED). Written after the copy and its verification and
-- before the event is sent: a redelivered SnapshotCreated finds it and re-emits the same event with the same id.
-- Copies given up after transient store failures are not stored, so a replay tries again.
CREATE TABLE offsite_copy (
    backup_id    uuid PRIMARY KEY REFERENCES sealed_backup (backup_id),
    outcome      text        NOT NULL CHECK (outcome IN ('COPIED', 'FAILED')),
    bucket       text        NOT NULL,
    -- the repository prefix at the destination
    prefix       text        NOT NULL,
    -- the copy's manifest; null when the copy failed
    manifest_key text,
    event_id     uuid        NOT NULL,
    -- the BackupCopied or BackupCopyFailed data as first emitted
    event_data   jsonb       NOT NULL,
    copied_at    timestamptz NOT NULL,
    CHECK ((outcome = 'COPIED') = (manifest_key IS NOT NULL))
);
