-- A late restore's drop (a restore that succeeded after its step had timed out is undone): written in the
-- transaction that decides it and marked sent once Kafka took it, so a coordinator that stops before the send (or
-- while the broker is away) still sends it after its restart, instead of leaving the restored database in place.
-- A drop not sent before its deadline (the participant would refuse it) is not sent at all: marked expired, and the
-- run records the database as left in place. Only a reply to a drop recorded here, answered once, counts.
create table late_drops (
    command_id  text primary key,
    run_id      text        not null,
    step        int         not null,
    -- what the drop removes, as the run describes it
    target      text        not null,
    traceparent text,
    pending     jsonb       not null,
    deadline    timestamptz not null,
    created_at  timestamptz not null default now(),
    sent_at     timestamptz,
    expired_at  timestamptz,
    replied_at  timestamptz
);
create index late_drops_unsent on late_drops (created_at) where sent_at is null and expired_at is null;
