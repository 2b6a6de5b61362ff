package dev.lifeboat.contracts;

import java.time.Instant;

/** A backup whose archive was read back, matched its size and SHA-256, and got its manifest. */
public record BackupCompleted(
        String backupId,
        String sourceId,
        String policyId,
        BackupType type,
        String bucket,
        String objectKey,
        String manifestKey,
        long sizeBytes,
        long rawBytes,
        String sha256,
        Instant startedAt,
        Instant completedAt,
        long durationMs,
        RepositoryStats repository,
        String verification) {
}
