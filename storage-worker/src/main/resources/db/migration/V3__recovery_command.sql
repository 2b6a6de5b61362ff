-- Recovery saga commands (PrepareRestore, VerifyBackup) this worker pool took on, keyed by the deterministic
-- command id: a command delivered again after it finished gets the stored reply re-sent instead of acting twice.
CREATE TABLE recovery_command (
    command_id       text PRIMARY KEY,
    run_id           text        NOT NULL,
    command          text        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('RUNNING', 'FINISHED')),
    worker_id        text        NOT NULL,
    attempts         integer     NOT NULL,
    -- unused by storage-worker (its commands create nothing); the shared ledger has the column
    created_resource text,
    reply            jsonb,
    started_at       timestamptz NOT NULL,
    finished_at      timestamptz,
    CHECK ((status = 'FINISHED') = (reply IS NOT NULL))
);

-- The latest verification of a sealed backup that a recovery command ran (full by VerifyBackup, quick by
-- PrepareRestore). A backup whose latest verification failed is not offered for restore.
CREATE TABLE backup_verification (
    backup_id   uuid PRIMARY KEY,
    level       text        NOT NULL CHECK (level IN ('QUICK', 'FULL')),
    ok          boolean     NOT NULL,
    problems    jsonb       NOT NULL,
    verified_at timestamptz NOT NULL
);
