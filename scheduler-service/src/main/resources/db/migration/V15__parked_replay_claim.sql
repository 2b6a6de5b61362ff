-- A replay claims its held record before the copy is sent: the row is written first (copy_* still null), the copy's
-- place is added once the broker acknowledged it, and a send that fails removes the claim. This index lets one
-- claim stand per record (its place and event id, as the already-replayed check tells records apart): two replays
-- of the same record at once, or a second run while a first is still sending, send it once. A forced replay (the
-- order says force) adds a row of its own outside the index.
alter table parked_replay add column forced boolean not null default false;
alter table parked_replay alter column copy_topic drop not null;
alter table parked_replay alter column copy_partition drop not null;
alter table parked_replay alter column copy_offset drop not null;
-- replays recorded before this: the first of each record stands, later ones were forced
update parked_replay p set forced = true
 where exists (select 1 from parked_replay q
                where q.held_topic = p.held_topic and q.held_partition = p.held_partition
                  and q.held_offset = p.held_offset
                  and coalesce(q.held_event_id, '') = coalesce(p.held_event_id, '')
                  and (q.replayed_at, q.id) < (p.replayed_at, p.id));
create unique index parked_replay_once
    on parked_replay (held_topic, held_partition, held_offset, (coalesce(held_event_id, '')))
    where not forced;
