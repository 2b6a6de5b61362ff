-- The fleet's Prometheus gauges read the same read model as GET /fleet (source_state, V10): it also keeps, per source,
-- the verdict of the newest verification (any) and the time of the newest one that passed. Both are index-only walks of
-- backup_source_verified_idx (V11) from its newest end.

alter table source_state add column last_verification text, add column last_passed_verified_at timestamptz;

create or replace function refresh_source_state(s text) returns void language plpgsql set search_path from current as $$
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
           (last_verified_at, last_verification) = (
               select v.verified_at, v.verification
                 from (select 1) one
                 left join lateral (
                       select b.verified_at, b.verification from backup b
                        where b.source_id = s and b.verified_at is not null
                        order by b.verified_at desc
                        limit 1) v on true),
           last_passed_verified_at = (
               select b.verified_at from backup b
                where b.source_id = s and b.verified_at is not null and b.verification in ('FULL_OK', 'QUICK_OK')
                order by b.verified_at desc
                limit 1),
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

-- the rows already there
select refresh_source_state(source_id) from source_state order by source_id;
