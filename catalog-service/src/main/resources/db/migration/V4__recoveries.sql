-- Recovery and drill runs (lifeboat.recovery.events.v1): one row per run, folded from RecoveryStarted and
-- RecoveryFinished in whatever order they arrive, its plan steps as they ended, and every event as received.

create table recovery (
    run_id             text        primary key,
    plan_id            text,
    plan_name          text,
    mode               text        check (mode in ('RECOVERY', 'DRILL')),
    trigger            text,
    -- RUNNING until a RecoveryFinished is seen; its status is final and never replaced
    status             text        not null check (status in ('RUNNING', 'SUCCEEDED', 'FAILED', 'COMPENSATED')),
    success            boolean,
    reason             text,
    started_at         timestamptz,
    finished_at        timestamptz,
    total_millis       bigint,
    rto_millis         bigint,
    rto_met            boolean,
    rpo_seconds        bigint,
    rpo_met            boolean,
    source_id          text,
    backup_id          text,
    backup_age_seconds bigint,
    updated_at         timestamptz not null
);

-- GET /recoveries is newest first (by started_at), optionally narrowed by mode, plan, status or source
create index recovery_started_at_idx on recovery (started_at desc, run_id desc);
create index recovery_plan_started_at_idx on recovery (plan_id, started_at desc);
create index recovery_source_started_at_idx on recovery (source_id, started_at desc);

create table recovery_step (
    run_id          text        not null references recovery (run_id) on delete cascade,
    step_index      integer     not null,
    kind            text        not null,
    status          text        not null,
    started_at      timestamptz,
    finished_at     timestamptz,
    duration_millis bigint,
    message         text,
    primary key (run_id, step_index)
);

-- The processed-message table of the recovery channel: the primary key on the event id is the idempotency guard.
create table recovery_event (
    event_id    text        primary key,
    run_id      text        not null,
    event_type  text        not null,
    occurred_at timestamptz not null,
    received_at timestamptz not null,
    data        jsonb       not null
);

create index recovery_event_run_idx on recovery_event (run_id, occurred_at);
