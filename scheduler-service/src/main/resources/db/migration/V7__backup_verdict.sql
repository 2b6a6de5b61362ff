-- The latest conclusive verification verdict of a backup (from BackupVerified: PASSED or CORRUPT, with its level
-- and time). Retention reads it: a CORRUPT backup takes no slot, the newest FULL-verified one is always kept. A
-- verification that could not read the store (UNREADABLE) is not a verdict and is not stored. Null: checked at
-- sealing only.
alter table backup_request add column verdict text check (verdict in ('PASSED', 'CORRUPT'));
alter table backup_request add column verdict_level text check (verdict_level in ('QUICK', 'FULL'));
alter table backup_request add column verdict_at timestamptz;
