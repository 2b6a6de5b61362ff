-- How far the source's archive reaches, as its owners stored it: the highest LSN (on the highest timeline) uploaded
-- into the archive at archive_location, of the cluster archive_system_identifier. The bucket is no proof of its own
-- contents: a restore to the latest point refuses an archive there that ends before this.
alter table archiver_lease add column archived_lsn bigint;
alter table archiver_lease add column archived_timeline integer;
alter table archiver_lease add column archive_location text;
alter table archiver_lease add column archive_system_identifier text;
