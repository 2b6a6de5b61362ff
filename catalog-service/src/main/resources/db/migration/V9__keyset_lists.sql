-- GET /backups and GET /recoveries page by keyset (newest first by time, then id; rows no event has dated yet last):
-- one index per filter the lists accept, each on the same sort key, so that every page, at any depth, is an index
-- range. The sort key coalesces the missing time to -infinity; the queries use the same expression.
drop index backup_requested_at_idx;
drop index backup_source_requested_at_idx;
drop index backup_status_requested_at_idx;
create index backup_list_idx on backup ((coalesce(requested_at, '-infinity'::timestamptz)) desc, backup_id desc);
create index backup_source_list_idx on backup (source_id, (coalesce(requested_at, '-infinity'::timestamptz)) desc,
    backup_id desc);
create index backup_status_list_idx on backup (status, (coalesce(requested_at, '-infinity'::timestamptz)) desc,
    backup_id desc);
create index backup_type_list_idx on backup (type, (coalesce(requested_at, '-infinity'::timestamptz)) desc,
    backup_id desc);

drop index recovery_started_at_idx;
drop index recovery_plan_started_at_idx;
drop index recovery_source_started_at_idx;
create index recovery_list_idx on recovery ((coalesce(started_at, '-infinity'::timestamptz)) desc, run_id desc);
create index recovery_plan_list_idx on recovery (plan_id, (coalesce(started_at, '-infinity'::timestamptz)) desc,
    run_id desc);
create index recovery_source_list_idx on recovery (source_id, (coalesce(started_at, '-infinity'::timestamptz)) desc,
    run_id desc);
create index recovery_status_list_idx on recovery (status, (coalesce(started_at, '-infinity'::timestamptz)) desc,
    run_id desc);
create index recovery_mode_list_idx on recovery (mode, (coalesce(started_at, '-infinity'::timestamptz)) desc,
    run_id desc);
