package dev.lifeboat.contracts.recovery;

import java.time.Instant;

/**
 * Where a sealed backup lives and what a restore needs to read it: the repository is {@code bucket}/{@code
 * repositoryPrefix}, the manifest {@code manifestKey} (in chain {@code chainId}). {@code manifestSha256} is the
 * SHA-256 of the manifest object as storage-worker sealed it: the bucket is not trusted, so a restore reads the
 * manifest only if the bytes it parses still have that hash. storage-worker always fills it from its sealed record;
 * a location without it (written before the hash was carried) is refused by snapshot-worker's restores.
 */
public record BackupLocation(
        String backupId,
        String sourceId,
        String bucket,
        String repositoryPrefix,
        String chainId,
        String manifestKey,
        Instant completedAt,
        long sizeBytes,
        long rawBytes,
        String verification,
        String manifestSha256) {

    /** A location without the manifest's sealed hash (as older senders wrote it). */
    public BackupLocation(String backupId, String sourceId, String bucket, String repositoryPrefix, String chainId,
                          String manifestKey, Instant completedAt, long sizeBytes, long rawBytes,
                          String verification) {
        this(backupId, sourceId, bucket, repositoryPrefix, chainId, manifestKey, completedAt, sizeBytes, rawBytes,
                verification, null);
    }
}
