-- Plans get their RTO, RPO, drill schedule and ordered steps (jsonb, each with its "kind").
alter table plan rename to plans;
alter table plans add column rto_millis bigint not null default 0;
alter table plans add column rpo_millis bigint not null default 0;
alter table plans add column drill_schedule text;
alter table plans add column step_timeout text;
alter table plans add column steps jsonb not null default '[]';
alter table plans add column updated_at timestamptz;
-- as the user wrote them (ISO-8601), so "PT0.001S" reads back unchanged
alter table plans add column rto text;
alter table plans add column rpo text;

-- One row per run: the saga's state. "pending" is the command (or coordinator-local action) the run waits on;
-- it is written before the command is sent, so a resumed coordinator re-sends exactly it (same commandId).
create table runs (
    id                   text primary key,
    plan_id              text        not null,
    plan                 jsonb       not null,
    mode                 text        not null,
    trigger              text        not null,
    status               text        not null,
    phase                text        not null,
    action_index         int         not null default 0,
    compensations        jsonb,
    comp_index           int         not null default 0,
    pending              jsonb,
    deadline             timestamptz,
    traceparent          text,
    data                 jsonb       not null default '{}',
    reason               text,
    result               jsonb,
    started_at           timestamptz not null,
    forward_finished_at  timestamptz,
    finished_at          timestamptz,
    started_event_sent   boolean     not null default false,
    finished_event_sent  boolean     not null default false,
    updated_at           timestamptz not null
);
create index runs_plan on runs (plan_id, started_at desc);
create index runs_active on runs (deadline) where status in ('RUNNING', 'COMPENSATING');

create table run_steps (
    run_id      text        not null references runs (id) on delete cascade,
    idx         int         not null,
    kind        text        not null,
    status      text        not null,
    started_at  timestamptz,
    finished_at timestamptz,
    message     text,
    details     jsonb       not null default '{}',
    primary key (run_id, idx)
);

-- Audit log: every transition of every run, in order.
create table run_transitions (
    id          bigserial primary key,
    run_id      text        not null references runs (id) on delete cascade,
    at          timestamptz not null,
    step        int,
    action      text,
    command_id  text,
    from_status text,
    to_status   text,
    note        text
);
create index run_transitions_run on run_transitions (run_id, id);
