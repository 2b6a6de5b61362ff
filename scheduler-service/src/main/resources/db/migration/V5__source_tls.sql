-- TLS to the source. Sources registered before keep libpq's old default (prefer), so an upgrade does not cut off a
-- server without TLS; new sources default to require (SourceService).
alter table source add column sslmode text not null default 'prefer';
alter table source alter column sslmode drop default;
alter table source add column ssl_root_cert_ref text;
