package dev.lifeboat.contracts;

import java.time.Instant;

/** The snapshot-worker uploaded a backup archive; storage-worker still has to verify and seal it. */
public record SnapshotCreated(
        String backupId,
        String sourceId,
        String policyId,
        BackupType type,
        String database,
        String bucket,
        String objectKey,
        long sizeBytes,
        long rawBytes,
        String sha256,
        String serverVersion,
        String pgDumpVersion,
        String workerId,
        Instant startedAt,
        Instant finishedAt,
        RepositoryStats repository) {
}
