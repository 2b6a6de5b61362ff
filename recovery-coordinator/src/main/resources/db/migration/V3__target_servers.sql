-- Target servers: the only places a plan may restore into. Plans name one and a database on it; the database
-- name must match database_pattern (whole-name match).
create table target_servers (
    name             text primary key,
    host             text        not null,
    port             int         not null,
    username         text        not null,
    password_ref     text        not null,
    database_pattern text        not null,
    created_at       timestamptz not null,
    updated_at       timestamptz not null
);

-- Plans (and the plan copies of runs) written before target servers named host, port, user and passwordRef in
-- each RestoreDatabase step. Each distinct server becomes a registered target "legacy-<hash>" that allows exactly
-- the databases those steps named, plus drill scratch databases; the steps then name it.
create function pg_temp.legacy_name(t jsonb) returns text language sql immutable as $$
    select 'legacy-' || substr(md5(concat_ws(':', t->>'host', t->>'port', t->>'user', t->>'passwordRef')), 1, 8)
$$;

create function pg_temp.migrate_steps(steps jsonb) returns jsonb language sql immutable as $$
    select coalesce(jsonb_agg(case when s->>'kind' = 'RestoreDatabase' and jsonb_typeof(s->'target') = 'object'
                                   then (s - 'target') || jsonb_build_object('target', pg_temp.legacy_name(s->'target'),
                                                                             'database', s->'target'->>'database')
                                   else s end order by ord), '[]'::jsonb)
    from jsonb_array_elements(steps) with ordinality as e(s, ord)
$$;

insert into target_servers (name, host, port, username, password_ref, database_pattern, created_at, updated_at)
select pg_temp.legacy_name(t), t->>'host', (t->>'port')::int, t->>'user', t->>'passwordRef',
       '^(drill_[0-9a-f]{8}_[0-9]+|'
           || string_agg(distinct regexp_replace(t->>'database', '([^A-Za-z0-9_])', '\\\1', 'g'), '|') || ')$',
       now(), now()
from (select s->'target' as t from plans p, jsonb_array_elements(p.steps) s
      where s->>'kind' = 'RestoreDatabase' and jsonb_typeof(s->'target') = 'object'
      union all
      select s->'target' from runs r, jsonb_array_elements(r.plan->'steps') s
      where s->>'kind' = 'RestoreDatabase' and jsonb_typeof(s->'target') = 'object') legacy
group by pg_temp.legacy_name(t), t->>'host', (t->>'port')::int, t->>'user', t->>'passwordRef';

update plans set steps = pg_temp.migrate_steps(steps)
where exists (select 1 from jsonb_array_elements(steps) s where jsonb_typeof(s->'target') = 'object');
update runs set plan = jsonb_set(plan, '{steps}', pg_temp.migrate_steps(plan->'steps'))
where exists (select 1 from jsonb_array_elements(plan->'steps') s where jsonb_typeof(s->'target') = 'object');
