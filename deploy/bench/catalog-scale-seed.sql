-- Seeds the catalog schema of a catalog-service database with a fleet's history, straight into its tables (no
-- events): :sources sources with :per_source backups each, one every 6 hours back from now, newest last.
-- Run by deploy/bench/catalog-scale.sh: psql -v sources=1000 -v per_source=1000 -f catalog-scale-seed.sql
-- The mix: every 24th backup of a source FULL, every 8th DIFFERENTIAL, the rest INCREMENTAL; the oldest 30 %
-- DELETED by retention; about 3 % FAILED; the newest backup of one source in 50 RUNNING; every 10th source physical
-- (with a WAL archiver report); COMPLETED backups quick-verified at completion, one in 7 fully verified later.
-- Ten drill runs per source (one in five missing its RTO), plus one recovery run per source.
set search_path = catalog;
\set ON_ERROR_STOP on

insert into backup (backup_id, source_id, policy_id, type, status, requested_by, requested_at, started_at,
                    completed_at, duration_ms, size_bytes, raw_bytes, bucket, object_key, manifest_key,
                    failure_stage, failure_reason, worker_id, deleted_at, method, verification, verified_at,
                    updated_at)
select id, source_id, 'policy-' || source_id,
       case when k % 24 = 0 then 'FULL' when k % 8 = 0 then 'DIFFERENTIAL' else 'INCREMENTAL' end,
       status, 'schedule', requested_at, requested_at + interval '2 seconds',
       case when status <> 'RUNNING' then requested_at + interval '7 minutes' end,
       case when status in ('COMPLETED', 'DELETED') then 420000 end,
       case when status in ('COMPLETED', 'DELETED') then 50000000 + (k * 7919) % 10000000 end,
       case when status in ('COMPLETED', 'DELETED') then 200000000 + (k * 104729) % 50000000 end,
       'lifeboat-backups', 'backups/' || source_id || '/' || id,
       case when status in ('COMPLETED', 'DELETED') then 'backups/' || source_id || '/manifests/' || id || '.json' end,
       case when status = 'FAILED' then 'DUMP' end,
       case when status = 'FAILED' then 'pg_dump exited with status 1' end,
       'worker-' || (k % 4),
       case when status = 'DELETED' then requested_at + interval '90 days' end,
       case when s % 10 = 0 then 'physical' else 'logical' end,
       case when status = 'COMPLETED' then case when k % 7 = 0 then 'FULL_OK' else 'QUICK_OK' end end,
       case when status = 'COMPLETED' then requested_at + case when k % 7 = 0 then interval '3 hours'
                                                               else interval '7 minutes' end end,
       requested_at + interval '7 minutes'
  from (select s, k, source_id,
               md5(source_id || '/' || k)::uuid::text as id,
               now() - (:per_source - k) * interval '6 hours' - s * interval '1 second' as requested_at,
               case when k = :per_source - 1 and s % 50 = 0 then 'RUNNING'
                    when k < :per_source * 3 / 10 then 'DELETED'
                    when (s * 31 + k * 17) % 33 = 0 then 'FAILED'
                    else 'COMPLETED' end as status
          from generate_series(1, :sources) s,
               lateral (select 'db-' || lpad(s::text, 5, '0') as source_id) n,
               generate_series(0, :per_source - 1) k) seed;

insert into recovery (run_id, plan_id, plan_name, mode, trigger, status, success, reason, started_at, finished_at,
                      total_millis, rto_millis, rto_met, source_id, backup_id, updated_at)
select md5('run/' || source_id || '/' || d)::uuid::text, 'plan-' || source_id, 'restore ' || source_id,
       case when d = 10 then 'RECOVERY' else 'DRILL' end, 'schedule',
       case when d % 5 = 4 then 'FAILED' else 'SUCCEEDED' end, d % 5 <> 4,
       case when d % 5 = 4 then 'RTO target missed' else 'completed' end,
       now() - (11 - d) * interval '3 days', now() - (11 - d) * interval '3 days' + interval '10 minutes',
       case when d % 5 = 4 then 1500000 else 600000 end, 900000, d % 5 <> 4,
       source_id, md5(source_id || '/' || (:per_source - 2))::uuid::text,
       now() - (11 - d) * interval '3 days' + interval '10 minutes'
  from generate_series(1, :sources) s,
       lateral (select 'db-' || lpad(s::text, 5, '0') as source_id) n,
       generate_series(0, 10) d;

insert into wal_status (source_id, worker_id, lease_token, timeline, archived_lsn, archived_at, server_lsn, lag_bytes,
                        lag_seconds, gap, state, reported_at, received_at)
select 'db-' || lpad(s::text, 5, '0'), 'worker-0', 1, 1, '0/5000000', now() - interval '3 seconds', '0/5001000',
       4096, 2.5, false, 'STREAMING', now(), now()
  from generate_series(10, :sources, 10) s;

analyze backup;
analyze recovery;
analyze wal_status;
