-- Chunked backups: their chain, what they cost, and how they were last verified.
alter table backup
    add column chain_id              text,
    add column parent_backup_id      text,
    add column requested_type        text,
    add column promoted_to_full      boolean,
    add column bytes_read            bigint,
    add column bytes_uploaded        bigint,
    add column chunks_total          bigint,
    add column chunks_uploaded       bigint,
    add column verification          text,
    add column verified_at           timestamptz,
    add column verification_problems text;
create index backup_chain on backup (chain_id) where chain_id is not null;
