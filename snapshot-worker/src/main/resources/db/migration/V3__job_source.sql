-- The source a backup id was taken for: a later request that names the same backup id for another source is
-- refused instead of redoing (and reporting) another source's backup under that id. Null for rows written before.
alter table job add column source_id text;
