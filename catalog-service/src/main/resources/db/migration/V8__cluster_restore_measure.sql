-- What a run's RestoreCluster step measured (RecoveryFinished.clusterRestore; null when the run restored no cluster):
-- the rates a source's predicted RTO is computed from (base fetch bytes/s, WAL replay bytes/s, start time).
alter table recovery
    add column cluster_restore_step     integer,
    add column cluster_base_bytes       bigint,
    add column cluster_fetch_millis     bigint,
    add column cluster_wal_files        bigint,
    add column cluster_wal_bytes        bigint,
    add column cluster_wal_fetch_millis bigint,
    add column cluster_replay_millis    bigint,
    add column cluster_start_millis     bigint,
    add column cluster_total_millis     bigint;

-- the predicted RTO reads a source's newest finished runs (the one its rates come from, its last drill)
create index recovery_source_finished_at_idx on recovery (source_id, finished_at desc);
