-- Recovery saga commands (RestoreDatabase, VerifyDatabase, DropDatabase) this worker pool took on, keyed by the
-- deterministic command id: a command delivered again after it finished gets the stored reply re-sent instead
-- of acting twice. created_resource is the database a RestoreDatabase created, recorded before pg_restore runs:
-- the proof that a retry of the same command may replace it.
create table recovery_command (
    command_id       text primary key,
    run_id           text        not null,
    command          text        not null,
    status           text        not null check (status in ('RUNNING', 'FINISHED')),
    worker_id        text        not null,
    attempts         integer     not null,
    created_resource text,
    reply            jsonb,
    started_at       timestamptz not null,
    finished_at      timestamptz,
    check ((status = 'FINISHED') = (reply is not null))
);
