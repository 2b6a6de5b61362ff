-- Who registered a source or a policy and who last replaced it: the bearer token's subject of those requests.
alter table source add column created_by text;
alter table source add column updated_by text;
alter table policy add column created_by text;
alter table policy add column updated_by text;
