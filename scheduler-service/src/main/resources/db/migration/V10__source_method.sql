-- How a source is backed up: logical (pg_dump of one database, the only method before) or physical (base backups
-- of the whole cluster over the replication protocol, with continuous WAL archiving).
alter table source add column method text not null default 'logical';
alter table source add constraint source_method_known check (method in ('logical', 'physical'));
