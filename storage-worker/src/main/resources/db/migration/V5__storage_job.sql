-- Long storage work (an offsite copy with its read-back, a garbage-collection pass) that a state change asks for,
-- written in the same transaction as that change (the seal, the deletion), so that a crash loses none of it. A pool
-- of this worker drains the table off the sealing path: it claims a row for a lease, renews the lease while it
-- works, and marks it DONE or FAILED. A row whose lease ran out (its worker died) is claimed again, and the work
-- resumes: copies skip the chunks already at the destination, passes start from the stored marks.
CREATE TABLE storage_job (
    id            bigserial PRIMARY KEY,
    kind          text        NOT NULL CHECK (kind IN ('OFFSITE_COPY', 'GC')),
    -- what the job is about (copy:<backupId>, gc:<bucket>/<prefix>): at most one PENDING job per subject
    subject       text        NOT NULL,
    -- what the job needs (the SnapshotCreated of a copy, the repository of a pass)
    payload       jsonb       NOT NULL,
    -- Kafka key of the events the job emits, so they share the partition of the backup's other lifecycle events
    event_key     text,
    status        text        NOT NULL CHECK (status IN ('PENDING', 'DONE', 'FAILED')),
    attempts      integer     NOT NULL DEFAULT 0,
    -- not before this time (the backoff after a transient failure); 'infinity' while an offsite copy waits for its
    -- BackupCompleted to go out, so that the copy's outcome never precedes it on the topic
    run_after     timestamptz NOT NULL,
    claimed_by    text,
    claimed_until timestamptz,
    last_error    text,
    created_at    timestamptz NOT NULL,
    finished_at   timestamptz,
    CHECK ((status = 'PENDING') = (finished_at IS NULL))
);
CREATE UNIQUE INDEX storage_job_pending_subject ON storage_job (subject) WHERE status = 'PENDING';
CREATE INDEX storage_job_runnable ON storage_job (run_after) WHERE status = 'PENDING';
