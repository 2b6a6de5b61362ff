package dev.lifeboat.contracts.recovery;

import java.time.Instant;

/**
 * Where a sealed backup lives and what a restore needs to read it: the repository is {@code bucket}/{@code
 * repositoryPrefix}, the manifest {@code manifestKey} (in chain {@code chainId}).
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
        String verification) {
}
