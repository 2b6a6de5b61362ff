-- Every replay of a held record (lifeboat.parked.v1 or lifeboat.dlq.v1) to its origin topic: the list shows when and
-- by whom each record was replayed, and a record already replayed is not replayed again unless the order says force
-- (a forced replay adds a row). held_event_id tells a record apart from another one at the same offset of a holding
-- topic that was deleted and created again.
create table parked_replay (
    id             uuid primary key,
    held_topic     text        not null,
    held_partition integer     not null,
    held_offset    bigint      not null,
    held_event_id  text,
    replayed_at    timestamptz not null,
    replayed_by    text        not null,
    copy_topic     text        not null,
    copy_partition integer     not null,
    copy_offset    bigint      not null
);
create index parked_replay_held on parked_replay (held_topic, held_partition, held_offset);
