-- One row per backup this worker has sealed or rejected. The backup id is the natural key that makes
-- a redelivered SnapshotCreated a no-op: the stored event is re-emitted, with its deterministic event id,
-- instead of verifying and sealing again.
CREATE TABLE sealed_backup (
    backup_id    uuid PRIMARY KEY,
    outcome      text        NOT NULL CHECK (outcome IN ('COMPLETED', 'FAILED')),
    -- where the manifest was written; null when verification failed and no manifest exists
    manifest_key text,
    event_id     uuid        NOT NULL,
    -- the BackupCompleted or BackupFailed data as first emitted, so a re-emission is the same fact
    event_data   jsonb       NOT NULL,
    sealed_at    timestamptz NOT NULL,
    CHECK ((outcome = 'COMPLETED') = (manifest_key IS NOT NULL))
);
