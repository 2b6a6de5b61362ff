-- The timer looks every tick for runs whose lifecycle events Kafka has not confirmed (SagaEngine.relayEvents): only
-- the active and the just-finished ones are in this index, so the look does not read every run ever made.
create index runs_events_unsent on runs (started_at) where not started_event_sent or not finished_event_sent;
