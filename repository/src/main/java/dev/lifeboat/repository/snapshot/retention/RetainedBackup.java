package dev.lifeboat.repository.snapshot.retention;

import dev.lifeboat.repository.snapshot.BackupType;

import java.time.Instant;
import java.util.Objects;

/**
 * One completed backup as retention sees it. {@code dependsOn} is the backup it cannot be restored without
 * (the previous backup of its chain for an INCREMENTAL, the chain's FULL for a DIFFERENTIAL, null for a FULL);
 * {@code integrity} what its latest conclusive verification said.
 */
public record RetainedBackup(String backupId, Instant completedAt, BackupType type, String chainId, String dependsOn,
                             Integrity integrity) {
    public RetainedBackup {
        Objects.requireNonNull(backupId, "backupId");
        Objects.requireNonNull(completedAt, "completedAt");
        Objects.requireNonNull(type, "type");
        integrity = integrity == null ? Integrity.UNVERIFIED : integrity;
    }

    /** A backup checked at sealing only. */
    public RetainedBackup(String backupId, Instant completedAt, BackupType type, String chainId, String dependsOn) {
        this(backupId, completedAt, type, chainId, dependsOn, Integrity.UNVERIFIED);
    }
}
