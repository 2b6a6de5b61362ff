-- How long one backup of the policy may run (ISO-8601 duration) before snapshot-worker stops it and reports it
-- FAILED: a locked table or a server that stops answering must not keep a backup RUNNING for ever. Existing
-- policies get the default.
alter table policy
    add column max_duration text not null default 'PT6H';
