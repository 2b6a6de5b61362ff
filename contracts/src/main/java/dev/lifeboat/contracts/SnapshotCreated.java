package dev.lifeboat.contracts;

import java.time.Instant;

/**
 * The snapshot-worker uploaded a backup archive; storage-worker still has to verify and seal it. {@code offsite},
 * when the backup's policy names a second destination, is where storage-worker copies the sealed backup: the
 * repository there is {@code offsite.bucket}/{@code offsite.prefix} (the source's repository prefix, like the part
 * of {@code objectKey} before {@code /chains/}).
 */
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
        RepositoryStats repository,
        OffsiteDestination offsite) {

    /** A snapshot without an offsite destination (what every producer before offsite copies sent). */
    public SnapshotCreated(String backupId, String sourceId, String policyId, BackupType type, String database,
                           String bucket, String objectKey, long sizeBytes, long rawBytes, String sha256,
                           String serverVersion, String pgDumpVersion, String workerId, Instant startedAt,
                           Instant finishedAt, RepositoryStats repository) {
        this(backupId, sourceId, policyId, type, database, bucket, objectKey, sizeBytes, rawBytes, sha256,
                serverVersion, pgDumpVersion, workerId, startedAt, finishedAt, repository, null);
    }

    public SnapshotCreated withOffsite(OffsiteDestination destination) {
        return new SnapshotCreated(backupId, sourceId, policyId, type, database, bucket, objectKey, sizeBytes,
                rawBytes, sha256, serverVersion, pgDumpVersion, workerId, startedAt, finishedAt, repository,
                destination);
    }
}
