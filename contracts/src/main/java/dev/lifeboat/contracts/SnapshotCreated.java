package dev.lifeboat.contracts;

import java.time.Instant;

/**
 * The snapshot-worker uploaded a backup archive; storage-worker still has to verify and seal it. {@code offsite},
 * when the backup's policy names a second destination, is where storage-worker copies the sealed backup: the
 * repository there is {@code offsite.bucket}/{@code offsite.prefix} (the source's repository prefix, like the part
 * of {@code objectKey} before {@code /chains/}). {@code method}: {@code logical} (pg_dump of one database) or
 * {@code physical} (base backup of the whole cluster, described by {@code physical}); absent from producers before
 * physical backups, which took logical ones only.
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
        OffsiteDestination offsite,
        String method,
        PhysicalBackupInfo physical) {

    public static final String LOGICAL = "logical";
    public static final String PHYSICAL = "physical";

    /** A snapshot that does not say its method (what every producer before physical backups sent). */
    public SnapshotCreated(String backupId, String sourceId, String policyId, BackupType type, String database,
                           String bucket, String objectKey, long sizeBytes, long rawBytes, String sha256,
                           String serverVersion, String pgDumpVersion, String workerId, Instant startedAt,
                           Instant finishedAt, RepositoryStats repository, OffsiteDestination offsite) {
        this(backupId, sourceId, policyId, type, database, bucket, objectKey, sizeBytes, rawBytes, sha256,
                serverVersion, pgDumpVersion, workerId, startedAt, finishedAt, repository, offsite, null, null);
    }

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
                destination, method, physical);
    }

    public SnapshotCreated withMethod(String method, PhysicalBackupInfo physical) {
        return new SnapshotCreated(backupId, sourceId, policyId, type, database, bucket, objectKey, sizeBytes,
                rawBytes, sha256, serverVersion, pgDumpVersion, workerId, startedAt, finishedAt, repository, offsite,
                method, physical);
    }
}
