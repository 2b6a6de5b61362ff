-- The TLS of the connections the workers make to a database target server (libpq's sslmode, and the CA certificate
-- a verify-ca or verify-full mode checks the server against). Targets registered before kept the driver's default,
-- prefer: they keep it until an admin registers them again (new registrations default to require).
alter table target_servers add column sslmode text;
alter table target_servers add column ssl_root_cert_ref text;
update target_servers set sslmode = 'prefer' where kind = 'database';
