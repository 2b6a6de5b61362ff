-- The manifest this worker pool wrote for a backup, recorded just before it is stored: its object key, chain and
-- SHA-256. A later delivery announces a manifest found in the bucket only when it is this one (same key, same hash):
-- anyone who can write to the bucket could otherwise plant a manifest under a backup id requested in advance and have
-- it announced, then sealed, as that backup.
alter table job add column manifest_key text;
alter table job add column manifest_chain_id text;
alter table job add column manifest_sha256 text;
