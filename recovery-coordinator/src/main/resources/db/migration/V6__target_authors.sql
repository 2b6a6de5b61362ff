-- Who registered a target server and who last replaced it: the bearer token's subject of those requests.
alter table target_servers add column created_by text;
alter table target_servers add column updated_by text;
