-- One verdict per backup: every full verification (on demand, scheduled, a recovery's VerifyBackup) and every
-- quick one that fails at PrepareRestore lands here; the quick check at sealing is the sealed_backup row itself.
-- The level/ok/outcome/problems/verified_at columns hold the latest conclusive verdict (PASSED or CORRUPT), null
-- until there is one. A run that could not read the store (UNREADABLE) never replaces it: it is kept apart in
-- unreadable_at/unreadable_problems and cleared by the next conclusive verdict.
ALTER TABLE backup_verification
    ADD COLUMN outcome text CHECK (outcome IN ('PASSED', 'CORRUPT')),
    ADD COLUMN unreadable_at timestamptz,
    ADD COLUMN unreadable_problems jsonb,
    ALTER COLUMN level DROP NOT NULL,
    ALTER COLUMN ok DROP NOT NULL,
    ALTER COLUMN problems DROP NOT NULL,
    ALTER COLUMN verified_at DROP NOT NULL;
UPDATE backup_verification SET outcome = CASE WHEN ok THEN 'PASSED' ELSE 'CORRUPT' END;
ALTER TABLE backup_verification
    ADD CONSTRAINT backup_verification_conclusive CHECK ((outcome IS NULL) = (ok IS NULL)
        AND (outcome IS NULL OR (outcome = 'PASSED') = ok)
        AND (outcome IS NULL) = (verified_at IS NULL) AND (outcome IS NULL) = (level IS NULL)),
    ADD CONSTRAINT backup_verification_something CHECK (outcome IS NOT NULL OR unreadable_at IS NOT NULL);
