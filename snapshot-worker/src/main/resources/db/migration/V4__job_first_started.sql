-- When the first attempt of a backup started: its maxDuration counts from there, so redoing it under the retry policy
-- (an object store outage) cannot push the deadline out. Rows written before start from their last attempt.
alter table job add column first_started_at timestamptz;
update job set first_started_at = started_at where first_started_at is null;
