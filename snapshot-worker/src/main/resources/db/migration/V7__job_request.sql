-- The policy and type a backup was requested with: a later delivery of the same backup id that asks for it to be
-- announced again must name the same ones (a request naming another policy would have the backup sealed, or
-- copied offsite, under that policy).
alter table job add column policy_id text;
alter table job add column requested_type text;
