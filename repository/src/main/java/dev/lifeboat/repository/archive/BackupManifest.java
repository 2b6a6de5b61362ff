package dev.lifeboat.repository.archive;

import java.time.Instant;
import java.util.Map;

/**
 * The small JSON object written beside a verified archive. Its presence is what makes a backup sealed:
 * it says what was backed up, when, how big, with which checksum, and which tools produced it.
 */
public record BackupManifest(
        int formatVersion,
        String backupId,
        String sourceId,
        String policyId,
        String type,
        String database,
        Instant startedAt,
        Instant finishedAt,
        Instant sealedAt,
        Archive archive,
        Map<String, String> tools) {

    public static final int FORMAT_VERSION = 1;

    public record Archive(String bucket, String key, String format, long sizeBytes, long rawBytes, String sha256) {
    }
}
