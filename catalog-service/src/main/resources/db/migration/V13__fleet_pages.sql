-- GET /fleet pages by source id in bytewise order (collation "C", whatever the database's collation): these indexes
-- let a page start at its cursor and stop after its size, whatever the fleet's size.
create index source_state_id_bytewise_idx on source_state ((source_id collate "C"));
create index wal_status_id_bytewise_idx on wal_status ((source_id collate "C"));
