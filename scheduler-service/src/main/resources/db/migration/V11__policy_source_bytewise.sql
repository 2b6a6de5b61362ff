-- GET /policies?afterSourceId=&sources= (how catalog-service pages the fleet) walks source ids in bytewise order
-- (collation "C", whatever the database's collation) from the cursor: this index lets it stop after the page.
create index policy_source_bytewise_idx on policy ((source_id collate "C"));
