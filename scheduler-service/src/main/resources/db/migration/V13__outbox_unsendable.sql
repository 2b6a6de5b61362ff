-- A row Kafka can never take (refused as too large, larger than any row the service writes) is set aside with the
-- reason instead of being retried for ever ahead of the rows behind it; setting failed_at back to null sends it again.
alter table outbox add column failed_at timestamptz, add column failure text;
drop index outbox_unsent;
create index outbox_unsent on outbox (created_at) where sent_at is null and failed_at is null;
create index outbox_set_aside on outbox (failed_at) where failed_at is not null;
