-- Settled late drops are purged after a retention period (SagaEngine.purgeLateDrops). A drop is settled when it was
-- answered, when it expired unsent, or, sent and never answered, at its deadline (the participant starts no drop
-- after it); an unsent drop still waiting for the broker is not settled (null here) and is never purged. The purge
-- looks the oldest settled rows up through this index, so a tick does not read every drop ever kept. The expression
-- must stay the same as the purge's.
create index late_drops_settled on late_drops
    ((coalesce(replied_at, expired_at, case when sent_at is not null then deadline end)));
