package dev.lifeboat.contracts;

import java.time.Instant;

/**
 * storage-worker could not copy a sealed backup to its offsite destination, or the copy failed verification there.
 * The primary backup is unaffected and stays COMPLETED. {@code retryable} false: trying again will not help until
 * someone acts on {@code reason} (another repository at the destination, a damaged source, a bad copy); true: the
 * object store kept failing and the copy was given up for now (replaying the SnapshotCreated tries again).
 */
public record BackupCopyFailed(String backupId, String sourceId, String policyId, String bucket, String prefix,
                               String reason, boolean retryable, Instant failedAt) {
}
