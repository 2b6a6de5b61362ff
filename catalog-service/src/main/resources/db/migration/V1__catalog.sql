-- The catalog's read model: one row per backup, folded from its events, plus every event as received.

create table backup (
    backup_id        text        primary key,
    source_id        text,
    policy_id        text,
    type             text        check (type in ('FULL', 'INCREMENTAL', 'DIFFERENTIAL')),
    status           text        not null
                                 check (status in ('REQUESTED', 'RUNNING', 'SNAPSHOT_CREATED', 'COMPLETED', 'FAILED')),
    requested_by     text,
    -- when the backup was asked for; until its BackupRequested is seen, the earliest time another event gives
    requested_at     timestamptz,
    started_at       timestamptz,
    -- when the backup reached its final status (COMPLETED or FAILED)
    completed_at     timestamptz,
    duration_ms      bigint,
    size_bytes       bigint,
    raw_bytes        bigint,
    sha256           text,
    bucket           text,
    object_key       text,
    manifest_key     text,
    failure_stage    text,
    failure_reason   text,
    progress_phase   text,
    progress_bytes   bigint,
    progress_percent integer,
    worker_id        text,
    updated_at       timestamptz not null
);

-- GET /backups is newest first, optionally narrowed to a source or a status
create index backup_requested_at_idx on backup (requested_at desc, backup_id desc);
create index backup_source_requested_at_idx on backup (source_id, requested_at desc);
create index backup_status_requested_at_idx on backup (status, requested_at desc);
-- GET /sources/{id}/latest-restorable
create index backup_restorable_idx on backup (source_id, started_at desc) where status = 'COMPLETED';

-- The processed-message table: the primary key on the CloudEvent id is what makes redelivery harmless.
create table backup_event (
    event_id    text        primary key,
    backup_id   text        not null,
    event_type  text        not null,
    occurred_at timestamptz not null,
    received_at timestamptz not null,
    data        jsonb       not null
);

create index backup_event_backup_idx on backup_event (backup_id, occurred_at);
