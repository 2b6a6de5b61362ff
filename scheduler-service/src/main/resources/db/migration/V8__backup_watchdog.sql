-- The backup watchdog: progress events (and SnapshotCreated) are heartbeats of a requested backup. A backup without
-- one for lifeboat.watchdog.no-progress-timeout is re-requested (same id) a bounded number of times, then failed.
-- last_requested_at defaults to the insert time, so every request starts its own clock.
alter table backup_request add column last_requested_at timestamptz not null default now();
alter table backup_request add column last_progress_at timestamptz;
alter table backup_request add column progress_phase text;
alter table backup_request add column progress_worker text;
alter table backup_request add column rerequests integer not null default 0;

create index backup_request_unresolved on backup_request (last_requested_at) where status = 'REQUESTED';
