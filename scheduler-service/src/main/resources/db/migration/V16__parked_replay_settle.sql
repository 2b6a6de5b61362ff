-- A claim whose copy was never recorded (scheduler-service stopped, or its database failed, between the claim and the
-- update that records the copy) is settled once it is older than lifeboat.replay.claim-stale-after: its copy is looked
-- for on the topic it was sent to, found by the claim's id that every copy carries (header lifeboat-replayed-claim).
-- Found, the copy's place is recorded; not found, the claim is released and the record can be replayed again.
-- origin_topic is where the claim's copy is sent; claims written before this have none (it is read from the held
-- record) and their copies carry no claim id (they are matched by lifeboat-replayed-from and lifeboat-replayed-by).
alter table parked_replay add column origin_topic text;
-- the claims without a recorded copy, per holding topic, oldest first: the stale ones are looked up by this
create index parked_replay_unsent on parked_replay (held_topic, replayed_at) where copy_topic is null;
