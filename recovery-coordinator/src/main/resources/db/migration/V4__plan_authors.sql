-- Who wrote a plan: the bearer token's subject of the request that created it and of the last one that changed it.
alter table plans add column created_by text;
alter table plans add column updated_by text;
