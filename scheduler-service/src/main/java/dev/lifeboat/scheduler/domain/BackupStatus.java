package dev.lifeboat.scheduler.domain;

/**
 * Where a backup stands as far as the scheduler knows. COMPLETED and EXPIRED are final for the outcome events:
 * a late or repeated BackupFailed or BackupCompleted does not move a backup out of them.
 */
public enum BackupStatus {
    REQUESTED, COMPLETED, FAILED, EXPIRED
}
