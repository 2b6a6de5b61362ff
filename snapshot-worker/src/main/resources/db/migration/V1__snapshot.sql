-- Backups this worker pool took on: the idempotency guard for redelivered BackupRequested records.
create table job (
    backup_id   uuid primary key,
    status      text        not null,
    worker_id   text        not null,
    attempts    integer     not null,
    started_at  timestamptz not null,
    finished_at timestamptz
);
