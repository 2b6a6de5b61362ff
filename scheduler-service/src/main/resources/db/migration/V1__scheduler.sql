-- Sources hold connection details and a secret reference, never a password.
create table source (
    id            text primary key,
    name          text        not null,
    kind          text        not null,
    host          text        not null,
    port          integer     not null,
    database_name text        not null,
    username      text        not null,
    password_ref  text        not null,
    created_at    timestamptz not null,
    updated_at    timestamptz not null
);

create table policy (
    id            text primary key,
    source_id     text        not null references source (id),
    backup_type   text        not null,
    schedule      text        not null,
    keep_daily    integer     not null,
    keep_weekly   integer     not null,
    keep_monthly  integer     not null,
    bucket        text,
    prefix        text,
    rpo           text,
    enabled       boolean     not null,
    created_at    timestamptz not null,
    updated_at    timestamptz not null
);
create index policy_source on policy (source_id);

-- One row per requested backup; the primary key is the natural key that makes scheduled firing idempotent.
create table backup_request (
    backup_id    uuid primary key,
    source_id    text        not null,
    policy_id    text,
    backup_type  text        not null,
    requested_by text        not null,
    requested_at timestamptz not null
);
create index backup_request_source on backup_request (source_id, requested_at desc);

-- Transactional outbox: written with the state change, relayed to Kafka afterwards.
create table outbox (
    id          uuid primary key,
    topic       text        not null,
    message_key text        not null,
    event_type  text        not null,
    payload     text        not null,
    created_at  timestamptz not null,
    sent_at     timestamptz
);
create index outbox_unsent on outbox (created_at) where sent_at is null;
