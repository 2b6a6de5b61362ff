-- A policy's optional second destination: storage-worker copies each completed backup there (same object-store
-- endpoint as the primary destination in this version). Both null when the policy names none.
alter table policy
    add column offsite_bucket text,
    add column offsite_prefix text;
