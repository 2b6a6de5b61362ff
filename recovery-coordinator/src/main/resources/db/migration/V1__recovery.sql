-- Disaster-recovery plans. Only the plan itself for now: its RTO, RPO, steps and runs arrive with the saga.
create table plan (
    id         text primary key,
    name       text        not null,
    created_at timestamptz not null
);
