-- The newest WAL archiving status of each physical source (lifeboat.wal.status.v1): what GET /sources/{id}/rpo
-- reads for physical sources. Only the newest report counts; a report of an owner that lost the source (lower lease
-- token) never replaces its successor's.
create table wal_status (
    source_id               text primary key,
    worker_id               text             not null,
    lease_token             bigint           not null,
    timeline                integer          not null,
    archived_lsn            text,
    archived_at             timestamptz,
    server_lsn              text,
    lag_bytes               bigint,
    lag_seconds             double precision,
    continuity_from         text,
    last_contiguous_segment text,
    gap                     boolean          not null,
    first_missing_segment   text,
    state                   text             not null,
    error                   text,
    reported_at             timestamptz      not null,
    received_at             timestamptz      not null
);
