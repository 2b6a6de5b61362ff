-- Registered targets get a kind: 'database' (a PostgreSQL server that RestoreDatabase steps restore into, as before)
-- or 'cluster' (where RestoreCluster steps create new clusters: data directories under data_root, listening on a
-- port in port_range 'first-last'). A cluster target has no server connection of its own.
alter table target_servers add column kind text not null default 'database';
alter table target_servers add column data_root text;
alter table target_servers add column port_range text;
alter table target_servers alter column host drop not null;
alter table target_servers alter column port drop not null;
alter table target_servers alter column username drop not null;
alter table target_servers alter column password_ref drop not null;
alter table target_servers alter column database_pattern drop not null;
alter table target_servers add constraint target_servers_kind check (
    (kind = 'database' and host is not null and port is not null and username is not null
        and password_ref is not null and database_pattern is not null)
    or (kind = 'cluster' and data_root is not null and port_range is not null));
