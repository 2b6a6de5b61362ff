-- The offsite copy of a backup (the policy's second destination): where it is and how it stands.
-- offsite_state: PENDING (SnapshotCreated named a destination), COPIED (copied and verified there),
-- FAILED (offsite_reason says why), DELETED (expired: its manifest was deleted with the primary's).
alter table backup
    add column offsite_bucket        text,
    add column offsite_prefix        text,
    add column offsite_manifest_key  text,
    add column offsite_state         text,
    add column offsite_verification  text,
    add column offsite_reason        text,
    add column offsite_chunks_copied bigint,
    add column offsite_bytes_copied  bigint,
    add column offsite_at            timestamptz;
