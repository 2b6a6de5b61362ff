package dev.lifeboat.contracts;

import java.time.Instant;

/**
 * storage-worker copied a sealed backup to its policy's offsite destination and verified the copy there.
 * {@code manifestKey} is the copy's manifest in {@code bucket}; the repository is {@code bucket}/{@code prefix}
 * and opens with the same master key as the primary. {@code chunksCopied}/{@code bytesCopied} count only what this
 * copy wrote (chunks the destination chain already held are skipped). {@code verification} is {@code FULL_OK}:
 * every chunk of the copy was read back from the destination, authenticated and hashed.
 * One per backup; event id {@code Ids.eventId(backupId, BACKUP_COPIED)}.
 */
public record BackupCopied(String backupId, String sourceId, String policyId, String bucket, String prefix,
                           String manifestKey, String manifestSha256, long chunksTotal, long chunksCopied,
                           long bytesCopied, String verification, Instant copiedAt, long durationMs) {
    public static final String FULL_OK = "FULL_OK";
}
