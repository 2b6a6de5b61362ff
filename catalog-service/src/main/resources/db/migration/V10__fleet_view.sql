-- GET /fleet: what the fleet view shows of each source, kept current by the database itself so that the view is one
-- read of one row per source. After every statement that writes backup or recovery rows, the sources it touched are
-- recomputed from their rows: the newest restorable backup (the order of GET /sources/{id}/latest-restorable), the
-- newest conclusive verification and the newest finished drill. Each recomputation locks the source's row first and
-- then reads in a statement of its own (a fresh snapshot under READ COMMITTED), so two transactions writing backups of
-- one source at once leave the row as the later one saw it after the earlier one committed.

create index backup_newest_restorable_idx on backup (source_id, started_at desc nulls last, completed_at desc nulls last)
    where status = 'COMPLETED';
create index backup_source_verified_idx on backup (source_id, verified_at) where verified_at is not null;
create index recovery_source_drill_idx on recovery (source_id, finished_at desc nulls last, run_id desc)
    where mode = 'DRILL' and status <> 'RUNNING';

create table source_state (
    source_id          text primary key,
    backup_id          text,
    type               text,
    method             text,
    requested_at       timestamptz,
    started_at         timestamptz,
    completed_at       timestamptz,
    last_verified_at   timestamptz,
    drill_run_id       text,
    drill_plan_id      text,
    drill_status       text,
    drill_total_millis bigint,
    drill_rto_millis   bigint,
    drill_rto_met      boolean,
    drill_finished_at  timestamptz
);

create function refresh_source_state(s text) returns void language plpgsql set search_path from current as $$
begin
    insert into source_state (source_id) values (s) on conflict do nothing;
    perform 1 from source_state where source_id = s for update;
    update source_state st
       set (backup_id, type, method, requested_at, started_at, completed_at) = (
               select g.backup_id, g.type, g.method, g.requested_at, g.started_at, g.completed_at
                 from (select 1) one
                 left join lateral (
                       select b.backup_id, b.type, b.method, b.requested_at, b.started_at, b.completed_at
                         from backup b
                        where b.source_id = s and b.status = 'COMPLETED'
                          and (b.verification is null or b.verification <> 'FAILED')
                        order by b.started_at desc nulls last, b.completed_at desc nulls last
                        limit 1) g on true),
           last_verified_at = (select max(v.verified_at) from backup v where v.source_id = s and v.verified_at is not null),
           (drill_run_id, drill_plan_id, drill_status, drill_total_millis, drill_rto_millis, drill_rto_met,
            drill_finished_at) = (
               select d.run_id, d.plan_id, d.status, d.total_millis, d.rto_millis, d.rto_met, d.finished_at
                 from (select 1) one
                 left join lateral (
                       select r.run_id, r.plan_id, r.status, r.total_millis, r.rto_millis, r.rto_met, r.finished_at
                         from recovery r
                        where r.source_id = s and r.mode = 'DRILL' and r.status <> 'RUNNING'
                        order by r.finished_at desc nulls last, r.run_id desc
                        limit 1) d on true)
     where st.source_id = s;
end $$;

-- the statement's rows in "changed" (a transition table); sources in order, so two statements never lock in reverse
create function refresh_changed_sources() returns trigger language plpgsql set search_path from current as $$
declare
    s text;
begin
    for s in select distinct source_id from changed where source_id is not null order by 1 loop
        perform refresh_source_state(s);
    end loop;
    return null;
end $$;

create trigger backup_inserted_source_state after insert on backup
    referencing new table as changed for each statement execute function refresh_changed_sources();
create trigger backup_updated_source_state after update on backup
    referencing new table as changed for each statement execute function refresh_changed_sources();
create trigger backup_deleted_source_state after delete on backup
    referencing old table as changed for each statement execute function refresh_changed_sources();
create trigger recovery_inserted_source_state after insert on recovery
    referencing new table as changed for each statement execute function refresh_changed_sources();
create trigger recovery_updated_source_state after update on recovery
    referencing new table as changed for each statement execute function refresh_changed_sources();
create trigger recovery_deleted_source_state after delete on recovery
    referencing old table as changed for each statement execute function refresh_changed_sources();

-- the rows already there
select refresh_source_state(source_id)
  from (select source_id from backup where source_id is not null
         union
        select source_id from recovery where source_id is not null) known
 order by source_id;
