-- How a backup was taken (method: logical | physical; null for events before physical backups, which were logical)
-- and, for a physical base backup, where it sits in the source cluster's WAL: what a point-in-time restore starts
-- from (start LSN on its timeline, in segment start_wal_segment) and must replay to at least (stop LSN).
alter table backup
    add column method                     text,
    add column physical_system_identifier text,
    add column physical_pg_version        text,
    add column physical_timeline          integer,
    add column physical_start_lsn         text,
    add column physical_stop_lsn          text,
    add column physical_start_wal_segment text,
    add column physical_start_time        timestamptz,
    add column physical_stop_time         timestamptz;
