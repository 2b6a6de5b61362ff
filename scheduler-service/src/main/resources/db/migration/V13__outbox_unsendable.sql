-- A row Kafka can never take (a record larger than the broker accepts, an event type this version does not know) is
-- set aside with the reason instead of being retried for ever ahead of the rows behind it.
alter table outbox add column failed_at timestamptz, add column failure text;
drop index outbox_unsent;
create index outbox_unsent on outbox (created_at) where sent_at is null and failed_at is null;
